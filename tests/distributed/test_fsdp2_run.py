"""`dareu run` under FSDP2 (`trainer.strategy=fsdp2`) on 2 CPU processes (gloo): every stage that
trains shards its model in `configure_model` — the finetunes (base, target, oracle), the
classifier attributor, DareU and a loss-based baseline with a reference (npo) — and each saves
whole weights that the next stages and evaluation read: a full model gathered onto rank 0, or
under LoRA a target merged from the gathered adapter and the methods' adapters.
Tiny model, one epoch, one unlearning step: this checks that every stage runs sharded, not what
it learns (tests/distributed/test_ddp.py compares FSDP2 updates with one process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO
from safetensors.torch import load_file

RUN = ["data.qa_per_owner=4", "data.num_holdout_owners=1", "data.num_test_questions=4",
       "model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.vocab_size=400",
       "model.max_length=64", "finetune.epochs=1", "finetune.batch_size=8",
       "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "eval.max_new_tokens=8",
       "eval.metrics=[]", "run.threads=1",
       "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 1}",
       "unlearn.methods=[dareu,npo]", "unlearn.steps=1", "unlearn.checkpoint_every=100",
       "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2",
       "unlearn.sampling.max_new_tokens=8", "trainer.strategy=fsdp2", "trainer.devices=2"]
MODES = {
    "full": ["data.num_owners=6"],  # target and oracle from scratch
    # target and oracle finetuned with LoRA from a base pretrained on a spare owner; a set floor
    # (a measured one is refused with adapters under fsdp2, dareu.preflight)
    "lora": ["data.num_owners=7", "data.max_retain_owners=4", "finetune.pretrain_owners=1",
             "model.mode=lora", "finetune.mode=lora", "unlearn.floor=0.1"],
}


def _held(log: str, what: str) -> list[tuple[int, int]]:
    """(weights this rank holds, weights of the model) of each rank's `configure_fsdp2` line."""
    return [(int(a), int(b)) for a, b in re.findall(
        rf"FSDP2: {what} sharded over 2 ranks; this rank holds (\d+) of its (\d+) weights", log)]


def _numel(path) -> int:
    return sum(t.numel() for t in load_file(path).values())


@pytest.mark.parametrize("mode", MODES)
def test_every_stage_of_dareu_run_trains_sharded_and_saves_whole_weights(tmp_path, mode):
    out = tmp_path / "run"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("{}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "dareu.cli", "run", str(recipe), *RUN,
                           *MODES[mode], f"run.output_dir={out}"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=400)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    stages = ["target", "oracle", "the classifier attributor", "policy", "npo"]
    for what in stages + (["base"] if mode == "lora" else []):
        held = _held(log, what)
        assert len(held) >= 2 and all(a < 0.6 * b for a, b in held), (what, held)
    whole = _held(log, "base" if mode == "lora" else "target")[0][1]  # the model without adapters
    for folder in ("target", "oracle"):  # gathered onto rank 0 (under LoRA: merged) and saved
        assert _numel(out / folder / "model.safetensors") == whole, folder
    assert _numel(out / "attributor" / "model" / "model.safetensors") == \
        _held(log, "the classifier attributor")[0][1]
    for method in ("dareu", "npo"):
        saved = "adapter/adapter_model.safetensors" if mode == "lora" else "model.safetensors"
        assert (out / "methods" / method / saved).is_file(), method
    models = json.loads((out / "summary.json").read_text())["models"]
    assert {"target", "oracle", "attributor", "dareu", "npo"} <= set(models)
