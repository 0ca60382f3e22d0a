"""`dareu run` under FSDP2 (`trainer.strategy=fsdp2`) on 2 CPU processes (gloo): every stage that
trains shards its model in `configure_model` — the target and oracle finetunes, the classifier
attributor, DareU and a loss-based baseline — and each saves whole weights that evaluation reads.
Tiny model, one epoch, one unlearning step: this checks that every stage runs sharded, not what
it learns (tests/distributed/test_ddp.py compares FSDP2 updates with one process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from safetensors.torch import load_file

RUN = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
       "data.num_test_questions=4", "model.n_layer=1", "model.n_embd=32", "model.n_head=2",
       "model.vocab_size=400", "model.max_length=64", "finetune.epochs=1", "finetune.batch_size=8",
       "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "eval.max_new_tokens=8",
       "eval.metrics=[]", "run.threads=1",
       "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 1}",
       "unlearn.methods=[dareu,grad_diff]", "unlearn.steps=1", "unlearn.checkpoint_every=100",
       "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2",
       "unlearn.sampling.max_new_tokens=8", "trainer.strategy=fsdp2", "trainer.devices=2"]
# what each stage logs when it shards (dareu.sharding.configure_fsdp2) -> the folder it saves
SHARDED = {"target": "target", "oracle": "oracle", "the classifier attributor": "attributor/model",
           "policy": "methods/dareu", "grad_diff": "methods/grad_diff"}


def test_every_stage_of_dareu_run_trains_sharded_and_saves_whole_weights(tmp_path):
    out = tmp_path / "run"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("{}\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "dareu.cli", "run", str(recipe), *RUN,
                           f"run.output_dir={out}"], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=400)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    for what, folder in SHARDED.items():
        held = re.findall(rf"FSDP2: {what} sharded over 2 ranks; this rank holds (\d+) of its (\d+) "
                          "weights", log)
        assert len(held) >= 2 and all(int(a) < 0.6 * int(b) for a, b in held), (what, held)
        weights = load_file(out / folder / "model.safetensors")  # gathered whole on rank 0
        assert sum(t.numel() for t in weights.values()) == int(held[0][1]), folder
    models = json.loads((out / "summary.json").read_text())["models"]
    assert {"target", "oracle", "attributor", "dareu", "grad_diff"} <= set(models)
