"""`dareu prepare` on a tiny corpus: target memorises, oracle does not, stages resume."""

import json

import pytest
from transformers import AutoModelForCausalLM

from dareu.config import load_config
from dareu.io import read_json
from dareu.pipeline import Run
from dareu.stages import prepare as prepare_mod

TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
        "data.num_test_questions=6", "model.n_layer=2", "model.n_embd=64", "model.n_head=2",
        "model.vocab_size=600", "finetune.epochs=60", "finetune.lr=5e-3", "finetune.batch_size=8",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false",
        "eval.max_new_tokens=32"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run = Run(load_config(None, TINY + [f"run.output_dir={out}"]))
    result = prepare_mod.prepare(run)
    return run, result


def test_prepare_writes_models_and_summary(prepared):
    run, result = prepared
    summary = read_json(run.out / "summary.json")["models"]
    for name in ("target", "oracle"):
        assert {"forget_rouge", "retain_rouge", "test_rouge"} <= set(summary[name])
        m = AutoModelForCausalLM.from_pretrained(run.out / name)  # plain transformers loads it
        assert m.config.vocab_size == len(run.tokenizer)
    t, o = summary["target"], summary["oracle"]
    assert t["forget_rouge"] >= 0.8 and t["retain_rouge"] >= 0.8, t  # the target memorised
    assert o["retain_rouge"] >= 0.8, o
    assert o["forget_rouge"] <= t["forget_rouge"] - 0.3, (t, o)  # the oracle never saw them
    assert result == {"target": t, "oracle": o}


def test_finished_stages_are_skipped(prepared, monkeypatch):
    run, _ = prepared
    calls = []
    monkeypatch.setattr(prepare_mod, "_finetune", lambda *a: calls.append(a) or {})
    monkeypatch.setattr(prepare_mod, "_evaluate_rouge", lambda *a: calls.append(a) or {})
    again = Run(run.cfg)
    prepare_mod.prepare(again)
    assert calls == [], "a finished stage with the same config must not rerun"


def test_changed_config_reruns_only_what_changed(prepared, monkeypatch, tmp_path):
    run, _ = prepared
    calls = []
    monkeypatch.setattr(prepare_mod, "_evaluate_rouge", lambda r: calls.append("eval") or {})
    monkeypatch.setattr(prepare_mod, "_finetune", lambda *a: calls.append(a[1]) or {})
    cfg = load_config(None, TINY + [f"run.output_dir={run.out}", "eval.max_new_tokens=16"])
    prepare_mod.prepare(Run(cfg))
    assert calls == ["eval"]
    marker = json.loads((run.out / "stages" / "prepare-eval.json").read_text())
    assert marker["hash"] and marker["wall_s"] >= 0
