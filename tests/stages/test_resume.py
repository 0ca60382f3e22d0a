"""Kill `dareu unlearn` with SIGKILL mid-run, rerun it, and get bit-for-bit the uninterrupted result.

Why it can be exact on CPU: every random draw of a DareU step is a pure function of (run seed,
step, rank) — prompts and retain records come from `SeededCycle.batch(step)`, sampling runs in a
forked RNG seeded per step, minibatch order from a per-step generator — so no global RNG state
has to survive the kill; the Lightning checkpoint restores weights, AdamW moments, the global step
and DareU's rollout counter (`on_save_checkpoint`). Also: the same seed twice gives identical
summary.json numbers.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY_RUN, prepare_run
from safetensors.torch import load_file

from dareu.io import read_json

TINY = TINY_RUN + ["unlearn.steps=40", "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2",
                   "unlearn.sampling.max_new_tokens=8", "unlearn.retain.batch_size=2", "unlearn.checkpoint_every=1",
                   "unlearn.lr=0.01"]
VOLATILE = ("wall", "_s", "seconds", "finished_at", "time")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_run(tmp_path_factory.mktemp("resume") / "run", TINY)


def _cmd(dest: Path, command: str = "unlearn") -> list[str]:
    recipe = dest / "recipe.yaml"
    recipe.write_text("{}\n")
    return [sys.executable, "-m", "dareu.cli", command, str(recipe), *TINY, f"run.output_dir={dest}"]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(dest: Path, command: str = "unlearn") -> None:
    proc = subprocess.run(_cmd(dest, command), capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _stable(obj):
    """Drop timing entries (they differ run to run) from nested dicts."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if not any(t in k for t in VOLATILE)}
    return obj


def _outcome(dest: Path) -> tuple[dict, list, dict]:
    weights = load_file(dest / "methods" / "dareu" / "model.safetensors")
    rows = list(csv.DictReader(open(dest / "logs" / "dareu" / "metrics.csv")))
    return weights, rows, _stable(read_json(dest / "stages" / "unlearn-dareu.json")["result"])


@pytest.fixture(scope="module")
def uninterrupted(prepared, tmp_path_factory):
    dest = tmp_path_factory.mktemp("straight") / "run"
    shutil.copytree(prepared, dest)
    _run(dest)
    return dest


def test_sigkill_then_rerun_equals_an_uninterrupted_run(prepared, uninterrupted, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(prepared, dest)
    ckpts = dest / "methods" / "dareu" / "checkpoints"
    proc = subprocess.Popen(_cmd(dest), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if ckpts.is_dir() and list(ckpts.glob("*.ckpt")):
            break  # kill at once: 40 tiny steps end in seconds on a quiet machine
        time.sleep(0.05)
    assert proc.poll() is None, "unlearning finished before it could be killed: raise unlearn.steps"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (dest / "stages" / "unlearn-dareu.json").exists()
    assert list(ckpts.glob("*.ckpt")), "a checkpoint must survive the kill"
    _run(dest)  # resumes from last.ckpt automatically
    w_ref, rows_ref, res_ref = _outcome(uninterrupted)
    w, rows, res = _outcome(dest)
    assert w.keys() == w_ref.keys()
    for k in w:
        assert torch.equal(w[k], w_ref[k]), f"{k} differs after resume"
    assert [r["step"] for r in rows] == [r["step"] for r in rows_ref]
    assert [_stable(r) for r in rows] == [_stable(r) for r in rows_ref]  # every step's metrics, exactly
    assert res == res_ref
    assert res["floor"] == res_ref["floor"]  # measured once, before the kill, and restored
    for d in (dest, uninterrupted):
        _run(d, "evaluate")
    summary, summary_ref = (_stable(read_json(d / "summary.json")) for d in (dest, uninterrupted))
    assert summary["models"]["dareu"] and summary == summary_ref


def test_same_seed_twice_gives_identical_summary(uninterrupted, prepared, tmp_path):
    again = tmp_path / "run"
    shutil.copytree(prepared, again)
    _run(again)
    for dest in (uninterrupted, again):
        _run(dest, "evaluate")
    a, b = (_stable(read_json(d / "summary.json")) for d in (uninterrupted, again))
    assert a["models"]["dareu"] and a == b
