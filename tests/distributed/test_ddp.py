"""DareU under real DDP and FSDP2 (2 CPU processes, gloo) equals one process with the same global
batch. FSDP2 (`trainer.strategy=fsdp2`, Lightning's ModelParallelStrategy) trains on sharded
weights and gathers them for sampling and for saving; Lightning's FSDP (v1) strategy refuses a
CPU accelerator, so FSDP2 is what runs here.

The unlearn stage runs through the CLI in a subprocess (Lightning's DDP launcher re-runs the
command for rank 1). Rollouts are made rank-independent (`ddp_worker.py`: each prompt's responses
are seeded by the prompt), so the only differences left between 2 ranks × P prompts and
1 process × 2P prompts are (i) how DDP averages gradients — which the loss normalisation must
undo: dapo policy loss and retain KL divide by the global token count (all-reduced), group
advantages never cross ranks (whole groups per rank) — and (ii) float summation order / padding
widths (≈1e-7 relative). Tolerance: weights after the update within 1e-5 absolute (lr·|Δg| with
SGD), while the update itself is ≥ 1e-3 — a wrong normalisation (e.g. per-rank token means)
shows up far above it.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_RUN, prepare_run
from safetensors.torch import load_file


TINY = TINY_RUN + ["unlearn.sampling.max_new_tokens=8", "unlearn.checkpoint_every=100"]
WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_run(tmp_path_factory.mktemp("ddp") / "run", TINY)


def _unlearn(prepared: Path, dest: Path, *overrides: str) -> Path:
    shutil.copytree(prepared, dest)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK"):
        env.pop(k, None)
    recipe = dest / "recipe.yaml"
    recipe.write_text("{}\n")
    proc = subprocess.run([sys.executable, str(WORKER), str(recipe), *TINY, f"run.output_dir={dest}",
                           *overrides], capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (dest / "output.txt").write_text(proc.stdout + proc.stderr)
    return dest


@pytest.fixture(scope="module")
def one_process(prepared, tmp_path_factory):
    return _unlearn(prepared, tmp_path_factory.mktemp("one") / "run", *COMMON,
                    "unlearn.sampling.prompts_per_step=4", "unlearn.retain.batch_size=4")


COMMON = ["unlearn.steps=1", "unlearn.sampling.group_size=3", "unlearn.objective.epochs=2", "unlearn.lr=0.5",
          "unlearn.retain.weight=1.0"]


@pytest.mark.parametrize("strategy", ["ddp", "fsdp2"])
def test_two_ranks_equal_one_process_with_the_same_global_batch(prepared, one_process, tmp_path,
                                                                strategy):
    one = one_process
    two = _unlearn(prepared, tmp_path / "two", *COMMON, "unlearn.sampling.prompts_per_step=2",
                   "unlearn.retain.batch_size=2", "trainer.devices=2", f"trainer.strategy={strategy}")
    start = load_file(prepared / "target" / "model.safetensors")
    w1 = load_file(one / "methods" / "dareu" / "model.safetensors")
    w2 = load_file(two / "methods" / "dareu" / "model.safetensors")
    assert w1.keys() == w2.keys()
    moved = max((w1[k] - start[k]).abs().max().item() for k in w1)
    diff = max((w1[k] - w2[k]).abs().max().item() for k in w1)
    assert moved > 1e-3, f"the update is too small to tell anything apart ({moved})"
    assert diff < 1e-5, f"2 ranks differ from 1 process by {diff} (update size {moved})"
    # metrics are synced over ranks (sync_dist): the mean reward of the global batch
    rows = [list(csv.DictReader(open(r / "logs" / "dareu" / "metrics.csv"))) for r in (one, two)]
    assert len(rows[0]) == len(rows[1]) == 1
    for key in ("reward_mean", "forget_mass", "response_len"):
        assert float(rows[0][0][key]) == pytest.approx(float(rows[1][0][key]), abs=1e-5), key
    # only rank 0 wrote: one marker, one metrics file, no stray temp folders
    assert not list((two / "methods").glob(".*.tmp"))
    if strategy == "fsdp2":  # really sharded: each rank held about half of the policy
        held = re.findall(r"this rank holds (\d+) of its (\d+) weights", (two / "output.txt").read_text())
        assert len(held) == 2 and all(int(a) < 0.6 * int(b) for a, b in held), held
