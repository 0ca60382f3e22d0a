"""`dareu evaluate` and `dareu report` on a tiny run that went through the real pipeline
(prepare → fit-attributor → unlearn → evaluate → report): the oracle's sanity values, a
memorising target's forget quality, the files written, resumability and the report."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch

from dareu.cli import main as cli_main
from dareu.config import load_config
from dareu.errors import DareUError
from dareu.eval import measure
from dareu.eval.suite import HEADLINE_KEYS
from dareu.io import read_json
from dareu.pipeline import Run
from dareu.stages import evaluate as evaluate_mod
from dareu.stages.fit_attributor import fit_attributor
from dareu.stages.prepare import prepare
from dareu.stages.report import report, report_cli
from dareu.stages.unlearn import unlearn

# enough finetuning that the target memorises its 8 forget answers (forget ROUGE ~0.9)
TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=2",
        "data.num_test_questions=6", "model.n_layer=1", "model.n_embd=64", "model.n_head=2",
        "model.vocab_size=512", "model.max_length=64", "finetune.epochs=40", "finetune.batch_size=4",
        "finetune.lr=0.01", "trainer.accelerator=cpu", "trainer.devices=1",
        "trainer.enable_progress_bar=false", "eval.max_new_tokens=24",
        "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 2}",
        "unlearn.methods=[grad_ascent]", "unlearn.steps=2", "unlearn.retain.batch_size=2"]
PNG = b"\x89PNG\r\n\x1a\n"


def tiny_run(out, *extra: str) -> Run:
    return Run(load_config(None, TINY + [f"run.output_dir={out}", *extra]))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """The run after every stage but the report (shared: tests that change it work on a copy)."""
    out = tmp_path_factory.mktemp("evaluate")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds contention on a busy machine
    run = tiny_run(out)
    prepare(run)
    fit_attributor(run)
    unlearn(run)
    evaluate_mod.evaluate(run)
    yield out
    torch.set_num_threads(threads)


def _copy(src, tmp_path, *extra: str) -> Run:
    shutil.copytree(src, tmp_path / "run")
    return tiny_run(tmp_path / "run", *extra)


def test_oracle_is_perfect_and_the_memorising_target_is_not(evaluated):
    models = read_json(evaluated / "summary.json")["models"]
    oracle, target = models["oracle"], models["target"]
    assert oracle["forget_quality"] == 1.0 and oracle["tow"] == 1.0
    assert oracle["privleak"] == pytest.approx(0.0)
    assert target["forget_rouge"] > 0.8 > oracle["forget_rouge"]  # it did memorise
    assert target["forget_quality"] < 0.05
    assert target["mia_auc_loss"] > oracle["mia_auc_loss"]
    for name in ("oracle", "target", "grad_ascent"):
        assert set(HEADLINE_KEYS) <= set(models[name]), name
        assert all(models[name][k] is not None for k in HEADLINE_KEYS), name
        assert 0 <= models[name]["forget_attribution_mass"] <= 1


def test_tofu_eval_files_use_open_unlearning_keys_by_record_id(evaluated):
    run = tiny_run(evaluated)
    ev = read_json(run.eval_dir("target") / "TOFU_EVAL.json")
    summary = read_json(run.eval_dir("target") / "TOFU_SUMMARY.json")
    forget_ids = {r.id for r in run.corpus.forget}
    for key in ("forget_Q_A_Prob", "forget_Q_A_ROUGE", "forget_truth_ratio", "extraction_strength",
                "forget_attribution_mass", "fluency_ppl"):
        assert set(ev[key]["value_by_index"]) == forget_ids, key
        assert summary[key] == ev[key]["agg_value"]
    for key in ("forget_quality", "model_utility", "privleak", "mia_loss", "mia_min_k", "mia_zlib",
                "retain_Truth_Ratio", "general_Q_A_Prob_normalised", "general_Truth_Ratio"):
        assert key in summary, key


def test_evaluate_skips_what_is_done_and_reuses_metric_groups(evaluated, tmp_path, monkeypatch):
    run = _copy(evaluated, tmp_path)
    before = read_json(run.out / "summary.json")["models"]["target"]
    monkeypatch.setattr(evaluate_mod, "evaluate_model", lambda *a, **k: pytest.fail("re-evaluated"))
    evaluate_mod.evaluate(run)  # every stage up to date
    monkeypatch.undo()

    # a changed Min-K% fraction: the stages rerun, the generations are reused, the scores are not
    run = tiny_run(run.out, "eval.mia_k=0.2")
    assert _rescored(run, monkeypatch) == 3  # oracle, target, grad_ascent
    after = read_json(run.out / "summary.json")["models"]["target"]
    assert after["forget_rouge"] == before["forget_rouge"]
    assert after["mia_auc_min_k"] is not None


def test_a_new_metric_version_rescores_every_model_but_keeps_the_answers(evaluated, tmp_path,
                                                                          monkeypatch):
    """Results written before a metric changed (EVAL_VERSION) are not taken as up to date."""
    from dareu.eval import suite

    run = _copy(evaluated, tmp_path)
    monkeypatch.setattr(suite, "EVAL_VERSION", suite.EVAL_VERSION + 1)
    monkeypatch.setattr(evaluate_mod, "EVAL_VERSION", suite.EVAL_VERSION)
    assert _rescored(run, monkeypatch) == 3  # oracle, target, grad_ascent


def _rescored(run, monkeypatch) -> int:
    """Evaluate `run` again, failing if any answer is regenerated; the models rescored."""
    monkeypatch.setattr(measure, "answers", lambda *a: pytest.fail("regenerated the answers"))
    scored = []
    teacher_forced = measure.teacher_forced
    monkeypatch.setattr(measure, "teacher_forced", lambda *a: scored.append(1) or teacher_forced(*a))
    evaluate_mod.evaluate(run)
    return len(scored)


def test_optional_metric_groups_can_be_switched_off(evaluated, tmp_path):
    run = _copy(evaluated, tmp_path, "eval.metrics=[]", "eval.max_items=4")
    evaluate_mod.evaluate(run)
    target = read_json(run.out / "summary.json")["models"]["target"]
    for key in ("privleak", "mia_auc_loss", "fluency_ppl", "forget_attribution_mass"):
        assert target[key] is None, key
    ev = read_json(run.eval_dir("target") / "TOFU_EVAL.json")
    assert len(ev["forget_Q_A_Prob"]["value_by_index"]) == 4
    assert not {"mia_loss", "privleak", "fluency_ppl", "forget_attribution_mass"} & set(ev)


def test_report_has_the_table_stage_times_and_plots(evaluated, tmp_path, capsys):
    run = _copy(evaluated, tmp_path)
    with (run.out / "logs" / "dareu").mkdir(parents=True) or open(
            run.out / "logs" / "dareu" / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)  # the DareU step log (this run trained only a baseline)
        w.writerow(["step", "reward_mean", "forget_mass", "kl"])
        w.writerows([[s, -1 + s / 10, 1 - s / 10, s / 100] for s in range(5)])
    result = report(run)
    md = (run.out / "report.md").read_text()
    assert str(run.out / "report.md") in capsys.readouterr().out
    assert "| model | forget quality | model utility | ToW |" in md
    for row in ("| oracle |", "| target |", "| grad_ascent |"):
        assert row in md
    assert "**" in md and "closest to the oracle" in md  # the best per column, and what best means
    assert "Stage wall times" in md and "| prepare-eval |" in md and "run:" in md  # times, config
    assert "<table>" in (run.out / "report.html").read_text()
    assert set(result["plots"]) == {"forget_quality_vs_utility.png", "tug_of_war.png",
                                    "dareu_training.png", "forget_mass_distribution.png"}
    for name in result["plots"]:
        data = (run.out / "plots" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 1000, name
        assert f"plots/{name}" in md


def test_report_cli_rebuilds_the_run_and_refuses_other_folders(evaluated, tmp_path):
    run = _copy(evaluated, tmp_path)
    assert report_cli(str(run.out)) == 0
    assert (run.out / "report.md").is_file()
    with pytest.raises(DareUError, match="not a DareU run directory"):
        report_cli(str(tmp_path / "nowhere"))
    assert cli_main(["report", str(tmp_path)]) == 2  # one paragraph, exit code 2, no traceback


def test_summary_is_valid_json_without_nan(evaluated):
    text = (evaluated / "summary.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in summary.json"))


def test_deleted_outputs_make_their_stages_run_again(evaluated, tmp_path):
    """Markers alone do not make a stage up to date: its outputs must be there too."""
    from dareu.stages.run_all import run_all

    run = _copy(evaluated, tmp_path)
    shutil.rmtree(run.out / "methods")
    shutil.rmtree(run.out / "eval")
    run_all(run)
    assert (run.out / "methods" / "grad_ascent" / "config.json").is_file()
    models = read_json(run.out / "summary.json")["models"]
    for name in ("oracle", "target", "grad_ascent"):
        assert (run.out / "eval" / name / "TOFU_SUMMARY.json").is_file(), name
        assert models[name]["retain_rouge"] is not None, name


def test_a_run_missing_a_methods_figures_exits_non_zero_naming_it(evaluated, tmp_path, monkeypatch,
                                                                   capsys):
    from dareu.stages import unlearn as unlearn_mod

    run = _copy(evaluated, tmp_path)
    shutil.rmtree(run.out / "methods")  # and the method, rerun, saves nothing (a broken plugin)
    monkeypatch.setattr(unlearn_mod, "_unlearn_one", lambda run, name, resume: {})
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("{}\n")
    code = cli_main(["run", str(recipe), *TINY, f"run.output_dir={run.out}"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "grad_ascent" in err and "dareu: run done" not in err


def test_a_figure_that_cannot_be_computed_says_why(evaluated, tmp_path):
    """No silent gaps: a missing attributor leaves the forget mass unavailable with its reason,
    in summary.json and in the report."""
    run = _copy(evaluated, tmp_path)
    shutil.rmtree(run.out / "attributor")
    shutil.rmtree(run.out / "eval" / "grad_ascent")
    evaluate_mod.evaluate(run)
    row = read_json(run.out / "summary.json")["models"]["grad_ascent"]
    assert row["forget_attribution_mass"] is None
    assert "no fitted attributor" in row["unavailable"]["forget_attribution_mass"]
    report(run)
    md = (run.out / "report.md").read_text()
    assert "grad_ascent: forget_attribution_mass — no fitted attributor" in md


ATTACKS_ON = ["eval.attacks=[sampling,paraphrase,relearn,priming]", "eval.attack.samples=2",
              "eval.attack.relearn_steps=2", "eval.attack.priming_pairs=1"]
ATTACK_KEYS = ["attack_sampling_rouge", "attack_sampling_hit", "attack_paraphrase_rouge",
               "attack_relearn_rouge", "attack_relearn_rouge_before", "attack_relearn_rouge_shown",
               "attack_relearn_mass",
               "attack_priming_rouge"]


def test_attacks_run_on_every_model_resume_and_fill_the_robustness_table(evaluated, tmp_path,
                                                                          monkeypatch):
    from dareu.eval import attacks as attacks_mod
    from dareu.stages import attack as attack_stage

    run = _copy(evaluated, tmp_path, *ATTACKS_ON)
    monkeypatch.setattr(evaluate_mod, "_evaluate_one", lambda *a: pytest.fail("re-evaluated"))
    evaluate_mod.evaluate(run)  # turning attacks on reruns no evaluation
    calls = []
    for name, fn in list(attacks_mod.ATTACKS.items()):
        monkeypatch.setitem(attack_stage.ATTACKS, name,
                            lambda m, i, n=name, f=fn: calls.append(n) or f(m, i))
    attack_stage.attack(run)
    assert sorted(calls) == sorted(["sampling", "paraphrase", "relearn", "priming"] * 3)
    models = read_json(run.out / "summary.json")["models"]
    for name in ("oracle", "target", "grad_ascent"):
        assert all(0 <= models[name][k] <= 1 for k in ATTACK_KEYS), (name, models[name])
        saved = read_json(run.eval_dir(name) / "attacks" / "relearn.json")
        assert saved["summary"]["attack_relearn_rouge"] == models[name]["attack_relearn_rouge"]
        assert len(saved["items"]) == 4  # the unseen half of the 8 forget records
    assert models["target"]["attack_sampling_rouge"] > models["oracle"]["attack_sampling_rouge"]

    calls.clear()
    monkeypatch.setattr(attack_stage, "load_for_eval", lambda *a: pytest.fail("model loaded"))
    summary = run.out / "summary.json"
    full = summary.read_text()
    summary.unlink()
    attack_stage.attack(run)  # up to date: no model is even loaded, yet summary.json is rebuilt
    assert calls == []
    rebuilt = read_json(summary)["models"]
    for name in ("oracle", "target", "grad_ascent"):
        assert {k: rebuilt[name][k] for k in ATTACK_KEYS} == {k: models[name][k] for k in ATTACK_KEYS}
    summary.write_text(full)
    monkeypatch.undo()

    result = report(run)
    md = (run.out / "report.md").read_text()
    assert "## Robustness" in md and "| sampling (best of 2) | paraphrased prompts |" in md
    assert "robustness.png" in result["plots"]
    assert (run.out / "plots" / "robustness.png").read_bytes().startswith(PNG)


def test_a_changed_attack_setting_reruns_that_attack_only_and_no_attacks_means_none(
        evaluated, tmp_path, monkeypatch):
    from dareu.eval.attacks import AttackResult
    from dareu.stages import attack as attack_stage

    run = _copy(evaluated, tmp_path, "eval.attacks=[sampling,priming]", "eval.attack.samples=2")
    attack_stage.attack(run)
    calls = []
    for name in ("sampling", "priming"):
        monkeypatch.setitem(attack_stage.ATTACKS, name, lambda m, i, n=name: calls.append(
            (n, i.settings.samples)) or AttackResult({f"attack_{n}_rouge": 0.5}))
    attack_stage.attack(tiny_run(run.out, "eval.attacks=[sampling,priming]", "eval.attack.samples=3"))
    assert calls == [("sampling", 3)] * 3  # oracle, target, grad_ascent; priming is up to date
    monkeypatch.undo()
    off = tiny_run(run.out)
    assert attack_stage.attack(off) == {}
    report(off)
    assert "Robustness" not in (run.out / "report.md").read_text()


def test_relearn_is_refused_before_any_attack_under_qlora(evaluated, tmp_path, monkeypatch):
    from dareu.errors import ConfigError
    from dareu.stages import attack as attack_stage

    run = _copy(evaluated, tmp_path, "eval.attacks=[sampling,relearn]", "model.mode=qlora")
    monkeypatch.setattr(attack_stage, "load_for_eval", lambda *a: pytest.fail("model loaded"))
    with pytest.raises(ConfigError, match="relearn is not supported with model.mode=qlora"):
        attack_stage.attack(run)
