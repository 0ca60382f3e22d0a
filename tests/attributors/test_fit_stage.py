"""`dareu fit-attributor` on a run directory that `prepare` would have left (tokenizer only)."""

import json
import shutil

import pytest
import torch

from dareu.config import load_config
from dareu.errors import DareUError
from dareu.io import read_json
from dareu.models import train_tokenizer
from dareu.pipeline import Run
from dareu.stages.fit_attributor import fit_attributor
from dareu.stages.objects import reward as run_reward

OVERRIDES = ["data.num_owners=4", "data.qa_per_owner=4", "data.num_holdout_owners=0",
             "trainer.accelerator=cpu", "trainer.enable_progress_bar=false",
             "attributor.options.n_layer=1", "attributor.options.n_embd=32",
             "attributor.options.n_head=2", "attributor.options.epochs=2", "run.threads=1"]


@pytest.fixture(autouse=True)
def keep_threads():
    n = torch.get_num_threads()  # run.threads=1 sets the process-wide count
    yield
    torch.set_num_threads(n)


def _run(tmp_path, *extra) -> Run:
    return Run(load_config(None, OVERRIDES + [f"run.output_dir={tmp_path}", *extra]))


def _prepare_tokenizer(run: Run) -> None:
    train_tokenizer(run.corpus.all_texts(), 512).save_pretrained(run.out / "tokenizer")


def test_needs_prepare(tmp_path):
    with pytest.raises(DareUError, match="dareu prepare RECIPE"):
        fit_attributor(_run(tmp_path))


def test_fit_save_summary_resume(tmp_path):
    run = _run(tmp_path)
    _prepare_tokenizer(run)
    result = fit_attributor(run)
    assert (run.attributor_dir / "attributor.json").is_file()
    assert (run.attributor_dir / "model" / "model.safetensors").is_file()
    summary = read_json(tmp_path / "summary.json")["models"]["attributor"]
    for key in ("heldout_accuracy", "heldout_macro_f1", "heldout_ece", "score_ms_per_32"):
        assert key in summary and key in result
    assert summary["name"] == "classifier"
    meta = json.loads((run.attributor_dir / "attributor.json").read_text())
    assert meta["sees"] == "response" and meta["report"]["heldout_texts"] == 8

    stamp = (run.attributor_dir / "attributor.json").stat().st_mtime_ns
    assert fit_attributor(_run(tmp_path)) == result            # up to date: skipped
    assert (run.attributor_dir / "attributor.json").stat().st_mtime_ns == stamp

    reward = run_reward(_run(tmp_path))
    forget = run.corpus.forget
    r = reward(prompts=[x.prompt for x in forget], completions=[x.response for x in forget])
    assert len(r) == len(forget) and all(-1 <= x <= 0 for x in r)

    # unlearn.reward.name_weight: the run's reward charges the forget owners' names, and only theirs
    named = run_reward(_run(tmp_path, "unlearn.reward.name_weight=0.5"))
    owner = run.corpus.forget_owners[0]
    name = run.corpus.aliases[owner][0]
    other = next(a[0] for o, a in run.corpus.aliases.items() if a and o not in run.corpus.forget_owners)
    texts = [f"{name} writes poems.", f"{other} writes poems.", "Someone writes poems."]
    plain, charged = reward.rewards(["q"] * 3, texts), named.rewards(["q"] * 3, texts)
    assert torch.allclose(charged, plain - torch.tensor([0.5, 0.0, 0.0]))


def test_config_change_refits_and_lost_output_refits(tmp_path):
    run = _run(tmp_path)
    _prepare_tokenizer(run)
    first = fit_attributor(run)
    changed = fit_attributor(_run(tmp_path, "attributor.options.holdout_fraction=0.25"))
    assert changed["heldout_texts"] == 4 and first["heldout_texts"] == 8
    shutil.rmtree(run.attributor_dir)
    fit_attributor(_run(tmp_path, "attributor.options.holdout_fraction=0.25"))
    assert (run.attributor_dir / "attributor.json").is_file()


def test_target_dependency_needs_target(tmp_path):
    run = _run(tmp_path, "attributor.options.use_target_generations=true")
    _prepare_tokenizer(run)
    with pytest.raises(DareUError, match="target model"):
        fit_attributor(run)


def test_target_answers_are_sampled_by_the_stage(tmp_path):
    """use_target_generations: the stage loads the target, samples answers and hands them over."""
    from dareu.models import build_tiny_model

    run = _run(tmp_path, "attributor.options.use_target_generations=true",
               "attributor.options.generations_per_prompt=1",
               "attributor.options.generation_max_new_tokens=8", "attributor.options.features=ngram")
    _prepare_tokenizer(run)
    build_tiny_model(run.cfg.model, run.tokenizer, seed=0).save_pretrained(run.target_dir)
    result = fit_attributor(run)
    assert 0 < result["train_generations"] <= len(run.corpus.records)
