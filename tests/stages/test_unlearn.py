"""`dareu unlearn` on a tiny prepared run: saves a loadable model, skips when done, resumes."""

from __future__ import annotations

import csv
import logging

import pytest
import torch

from dareu.config import load_config
from dareu.eval.headline import headline_metrics
from dareu.io import read_json
from dareu.models import load_trained
from dareu.modules.dareu import DareUModule
from dareu.pipeline import Run
from dareu.stages import unlearn as unlearn_mod
from dareu.stages.fit_attributor import fit_attributor
from dareu.stages.objects import eval_task
from dareu.stages.prepare import prepare

TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
        "data.num_test_questions=4", "model.n_layer=1", "model.n_embd=32", "model.n_head=2",
        "model.vocab_size=400", "model.max_length=64", "model.lora_r=4", "model.lora_alpha=8",
        "finetune.epochs=3", "finetune.batch_size=8", "trainer.accelerator=cpu", "trainer.devices=1",
        "trainer.enable_progress_bar=false", "eval.max_new_tokens=12", "eval.metrics=[]",
        "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 2}",
        "unlearn.steps=2", "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2",
        "unlearn.sampling.max_new_tokens=8", "unlearn.retain.batch_size=2", "unlearn.checkpoint_every=1"]


def tiny_run(out, *extra: str) -> Run:
    return Run(load_config(None, TINY + [f"run.output_dir={out}", *extra]))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A tiny run after prepare + fit-attributor (shared: each test unlearns into its own copy)."""
    out = tmp_path_factory.mktemp("unlearn")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds contention on a busy machine
    run = tiny_run(out)
    prepare(run)
    fit_attributor(run)
    yield out
    torch.set_num_threads(threads)


def test_unlearn_saves_a_loadable_model_and_step_metrics(prepared):
    run = tiny_run(prepared)
    result = unlearn_mod.unlearn(run)["dareu"]
    folder = run.method_dir("dareu")
    assert (folder / "model.safetensors").is_file() and not (folder / "checkpoints").exists()
    assert result["steps"] == 2 and result["optimizer_steps"] == 2 * run.cfg.unlearn.objective.epochs
    assert read_json(run.marker("unlearn-dareu"))["result"] == result
    rows = list(csv.DictReader(open(run.out / "logs" / "dareu" / "metrics.csv")))
    assert len(rows) == 2 and {"reward_mean", "forget_mass", "kl", "retain_kl"} <= set(rows[0])
    model = load_trained(folder, run.cfg.model, base_path=run.target_dir)
    metrics = headline_metrics(eval_task(run), model, "dareu")
    assert set(metrics) == {"forget_rouge", "retain_rouge", "test_rouge", "forget_attribution_mass"}
    assert 0 <= metrics["forget_attribution_mass"] <= 1


def test_baselines_train_for_their_own_step_count(prepared, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(prepared, out)
    run = tiny_run(out, "unlearn.methods=[dareu,npo]", "unlearn.baselines.steps=3")
    results = unlearn_mod.unlearn(run)
    assert results["npo"]["steps"] == 3 and results["npo"]["optimizer_steps"] == 3
    assert results["dareu"]["steps"] == 2  # DareU keeps unlearn.steps (rollouts)
    from dareu.modules.registry import get_method

    assert tiny_run(out).cfg.unlearn.steps_of(get_method("npo")) == 2  # null: the same as unlearn.steps


def test_a_finished_method_is_skipped(prepared, monkeypatch):
    run = tiny_run(prepared)
    unlearn_mod.unlearn(run)
    monkeypatch.setattr(unlearn_mod, "_unlearn_one", lambda *a: pytest.fail("reran a finished stage"))
    unlearn_mod.unlearn(tiny_run(prepared))


@pytest.mark.parametrize("mode", ["lora", "qlora"])
def test_adapter_modes_save_adapter_and_merged_model(prepared, mode):
    run = tiny_run(prepared, f"model.mode={mode}", "model.merge_adapters=true", "unlearn.objective.epochs=1")
    unlearn_mod.unlearn(run)
    folder = run.method_dir("dareu")
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert (folder / "merged" / "config.json").is_file()
    model = load_trained(folder, run.cfg.model, base_path=run.target_dir)
    assert not hasattr(model, "peft_config")  # a plain model for evaluation


def test_an_interrupted_run_resumes_from_its_last_checkpoint(prepared, monkeypatch, caplog):
    extra = ["unlearn.steps=3", "unlearn.floor=0"]
    original = DareUModule._score

    def dies_at_step_2(self, prompts, responses, step):
        if step == 2:
            raise KeyboardInterrupt  # stands in for a kill: no checkpoint is written for step 2
        return original(self, prompts, responses, step)

    monkeypatch.setattr(DareUModule, "_score", dies_at_step_2)
    with pytest.raises(BaseException):
        unlearn_mod.unlearn(tiny_run(prepared, *extra))
    run = tiny_run(prepared, *extra)
    last = run.method_dir("dareu") / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["dareu"]["rollouts_done"] == 2
    monkeypatch.setattr(DareUModule, "_score", original)
    with caplog.at_level(logging.INFO, logger="dareu"):
        result = unlearn_mod.unlearn(run)["dareu"]
    assert "resuming from" in caplog.text
    assert result["optimizer_steps"] == 3 * run.cfg.unlearn.objective.epochs
    rows = list(csv.DictReader(open(run.out / "logs" / "dareu" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [0, 1, 2]  # the first attempt's rows, then the resumed one
    assert not (run.method_dir("dareu") / "checkpoints").exists()  # gone with the saved model


def test_a_checkpoint_of_another_config_is_not_resumed(prepared, caplog):
    run = tiny_run(prepared, "unlearn.steps=2", "unlearn.lr=3e-4")
    ckpt_dir = run.method_dir("dareu") / "checkpoints"
    assert unlearn_mod._resumable(ckpt_dir, "not-this-config") is None
    assert not ckpt_dir.exists()


def test_run_all_runs_the_stages_in_order(monkeypatch, tmp_path):
    import dareu.stages.evaluate as ev
    import dareu.stages.fit_attributor as fa
    import dareu.stages.prepare as pr
    import dareu.stages.report as rp
    from dareu.stages.run_all import run_all

    calls = []
    for mod, name in ((pr, "prepare"), (fa, "fit_attributor"), (ev, "evaluate"), (rp, "report")):
        monkeypatch.setattr(mod, name, lambda run, name=name: calls.append(name) or {})
    monkeypatch.setattr(unlearn_mod, "unlearn", lambda run, resume=None: calls.append(("unlearn", resume)) or {})
    from dareu.errors import IncompleteRun

    with pytest.raises(IncompleteRun, match="oracle, target, dareu"):  # the stubs wrote no figures
        run_all(tiny_run(tmp_path), resume="x.ckpt")
    assert calls == ["prepare", "fit_attributor", ("unlearn", "x.ckpt"), "evaluate", "report"]


def test_dareu_keeps_its_own_updates_under_trainer_accumulation_and_clipping(prepared, caplog):
    """Lightning refuses accumulation / automatic clipping for manual optimisation: DareU takes
    neither (it says so) and makes ppo_epochs updates per step; the keys change its stage hash."""
    plain = tiny_run(prepared)
    run = tiny_run(prepared, "trainer.accumulate_grad_batches=2", "trainer.gradient_clip_val=0.5")
    assert unlearn_mod.stage_key(run, "dareu", True) != unlearn_mod.stage_key(plain, "dareu", True)
    with caplog.at_level(logging.INFO, logger="dareu"):
        result = unlearn_mod.unlearn(run)["dareu"]
    assert result["optimizer_steps"] == 2 * run.cfg.unlearn.objective.epochs
    assert "dareu optimises manually" in caplog.text and "global batch per step: 2 prompts" in caplog.text
