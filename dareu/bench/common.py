"""Shared pieces of the `dareu bench` benchmarks: a tiny in-process setup, timers, RSS, results.

Every benchmark builds its tiny world in process (synthetic corpus → BPE tokenizer → random-init
policy → tiny attributor): no download, no prepared run needed.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import torch

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"


def machine() -> dict[str, Any]:
    return {"date": datetime.date.today().isoformat(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_result(name: str, result: dict[str, Any], out_dir: str | Path | None = None) -> Path:
    from dareu.io import atomic_write_json

    path = Path(out_dir or RESULTS_DIR) / f"{name}.json"
    atomic_write_json(path, {"bench": name, "machine": machine(), **result})
    return path


def summary(xs: Sequence[float]) -> dict[str, float]:
    """Median with min and max (what the tables print)."""
    xs = [float(x) for x in xs]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt(s: dict[str, float], digits: int = 3) -> str:
    return f"{s['median']:.{digits}g} ({s['min']:.{digits}g}–{s['max']:.{digits}g})"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (pastes into docs/benchmarks.md as is)."""
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *[line(r) for r in cells[1:]]])


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every `interval` s by a thread."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval, self.start, self.peak = interval, 0, 0
        self._stop = threading.Event()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def begin(self) -> "PeakRSS":
        """Start measuring now (a later `with` keeps this start)."""
        if not hasattr(self, "_thread"):
            self.start = self.peak = rss_bytes()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __enter__(self) -> "PeakRSS":
        return self.begin()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def increase(self) -> int:
        return self.peak - self.start


def step_meter(module, cuda: bool) -> tuple[Any, list[float], list[int]]:
    """(callback, seconds, tokens) for each DareU training step: the Lightning callback times each
    batch (the GPU synchronised at both ends, so queued work is counted), and the module's rollout
    is wrapped to count the tokens it generated (through EOS)."""
    from lightning.pytorch.callbacks import Callback

    times: list[float] = []
    tokens: list[int] = []
    rollout = module._rollout

    def counted(batch, step):
        ro = rollout(batch, step)
        tokens.append(int(ro.mask.sum()))
        return ro

    module._rollout = counted

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    class Clock(Callback):
        def on_train_batch_start(self, *args) -> None:
            sync()
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, *args) -> None:
            sync()
            times.append(time.perf_counter() - self.t0)

    return Clock(), times, tokens


def run_worker(module: str, args: list[str], timeout: float = 900) -> dict[str, Any]:
    """Run `python -m module args` in a fresh process; its last stdout line is a JSON object."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {module} {' '.join(args)} failed (rc {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The tiny world


def tiny_overrides(out: Path, *, prompts: int, group: int, new_tokens: int, n_layer: int,
                   n_embd: int, n_head: int, vocab: int, lr: float, beta: float,
                   algorithm: str = "grpo", mode: str = "full", arch: str = "gpt2",
                   extra: Sequence[str] = ()) -> list[str]:
    """Config overrides of the bench run. One rollout = one optimiser update (ppo_epochs=1,
    minibatches=1) and no retain guard (retain_weight=0): the same work as TRL's GRPO step."""
    return ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
            "data.num_test_questions=4", f"model.arch={arch}", f"model.n_layer={n_layer}",
            f"model.n_embd={n_embd}", f"model.n_head={n_head}", f"model.vocab_size={vocab}",
            "model.max_length=128", "model.lora_r=8", "model.lora_alpha=16", f"model.mode={mode}",
            "trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false",
            f"unlearn.sampling.prompts_per_step={prompts}", f"unlearn.sampling.group_size={group}",
            f"unlearn.sampling.max_new_tokens={new_tokens}", f"unlearn.lr={lr}", f"unlearn.objective.beta={beta}",
            f"unlearn.objective.algorithm={algorithm}", "unlearn.objective.epochs=1",
            "unlearn.retain.weight=0", "unlearn.sampling.temperature=1.0", f"run.output_dir={out}",
            *extra]


def tiny_run(overrides: list[str]):
    """(run, tokenizer): the synthetic corpus and a BPE tokenizer trained on it (deterministic)."""
    from dareu.config import load_config
    from dareu.models import train_tokenizer
    from dareu.pipeline import Run

    run = Run(load_config(None, overrides))
    tok = train_tokenizer(run.corpus.all_texts(), run.cfg.model.vocab_size)
    run.__dict__.update(tokenizer=tok)
    return run, tok


def save_tiny_policy(run, tok, path: Path, seed: int = 0, vocab: int | None = None) -> Path:
    """The bench policy, saved once. `vocab` larger than the tokenizer pads the embedding and the
    LM head to that many rows, so the logits are really `vocab` wide (the tokenizer trained on the
    synthetic corpus stops at a few hundred tokens); sampled ids past the tokenizer decode to ''."""
    from dareu.models import build_tiny_model

    if not (path / "config.json").is_file():
        model = build_tiny_model(run.cfg.model, tok, seed=seed)
        if vocab is not None and vocab > len(tok):
            model.resize_token_embeddings(vocab, mean_resizing=False)
        model.save_pretrained(path)
        tok.save_pretrained(path)
    return path


def classifier_reward(run, tok, epochs: int = 3):
    """DareU's de-attribution reward with a tiny classifier attributor fitted here (seconds)."""
    from attributors.base import AttributorContext, build_attributor
    from dareu.reward import DeAttributionReward

    ctx = AttributorContext(tokenizer=tok, seed=0, model_cfg=run.cfg.model,
                            trainer_cfg=run.cfg.trainer)
    attributor = build_attributor("classifier", {"n_layer": 1, "n_embd": 64, "n_head": 2,
                                                 "epochs": epochs, "holdout_fraction": 0.0,
                                                 "max_length": 64}, ctx).fit(run.corpus)
    return DeAttributionReward(attributor, run.corpus.forget_owners)
