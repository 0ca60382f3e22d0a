"""`dareu plan RECIPE`: what each stage would train, on how much data, and roughly what it costs,
before anything is written (no run folder, no model download: only config.json files are read).

Estimates are rough (take them within a factor of two): time = FLOPs / the device's matmul rate
(+ weight reads per generated token), memory = weights + trainable state + activations + KV cache.
The rate is measured on this machine when the recipe's device is here, else assumed (--tflops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dareu.config import Config
from dareu.plan.costs import GIB, Cost, device_rates, on_gpu
from dareu.plan.sizes import DataSize, Shape, data_size, model_shape, target_shape

__all__ = ["Cost", "DataSize", "Shape", "data_size", "model_shape", "plan", "plan_cli",
           "target_shape"]


@dataclass
class Step:
    """One line of the plan: a stage, what it does, its estimated time and peak bytes per device."""

    stage: str
    what: str
    seconds: float | None = None
    peak_bytes: float | None = None


def plan_steps(cfg: Config, world: int, cost: Cost, data: DataSize,
               target_shape: Shape) -> list[Step]:
    m, ft, u, e = cfg.model, cfg.finetune, cfg.unlearn, cfg.eval
    size = _size(target_shape.params)
    out: list[Step] = []
    extra = data.test if ft.include_test_sets else 0
    pretrain = data.pretrain * (1 + ft.pretrain_name_swaps)  # each swap is one renamed copy
    stages = [("base", None, pretrain + extra, ft.pretrain_epochs)] if ft.pretrain_owners else []
    stages += [("target", m.path, data.records + extra, ft.epochs),
               ("oracle", m.oracle_path, data.retain + extra, ft.epochs)]
    for name, given, records, epochs in stages:
        if given:
            out.append(Step(f"prepare: {name}", f"skipped: model.{'path' if name == 'target' else 'oracle_path'} = {given}"))
            continue
        batch = ft.batch_size * world
        steps = epochs * math.ceil(records / batch)
        if name == "base":
            general = f" + {extra:,} general" if extra else ""
            swaps = (f" + {ft.pretrain_name_swaps} renamed cop{'y' if ft.pretrain_name_swaps == 1 else 'ies'}"
                     if ft.pretrain_name_swaps else "")
            kind = (f"pretraining a {size} {m.arch} from scratch on {ft.pretrain_owners} spare "
                    f"owners ({data.pretrain:,} QA{swaps}{general}) × {epochs} epochs")
        else:
            kind = f"{ft.mode} finetune of {size} from {m.base_path}" if m.base_path else \
                f"finetuning the {size} base" if ft.pretrain_owners else \
                f"training a {size} {m.arch} from scratch"
            kind += f" on {records:,} QA × {epochs} epochs"
        mode = "full" if name == "base" else ft.mode
        out.append(Step(f"prepare: {name}",
                        f"{kind} (global batch {batch}, {steps:,} steps, lr {ft.lr:g})",
                        cost.train_seconds(mode, epochs * records * data.tokens / world),
                        cost.trained_model(mode) + cost.activations(ft.batch_size, data.tokens)))
    rouge_items = _capped(cfg, [data.forget, data.retain, data.test])  # prepare: every retain QA
    eval_mode = "qlora" if m.mode == "qlora" else "full"
    rouge = cost.generate_seconds(eval_mode, rouge_items, e.max_new_tokens, e.batch_size)
    out.append(Step("prepare: ROUGE of target and oracle",
                    f"greedy answers to {rouge_items:,} questions ({_rouge_splits(cfg, data)}) "
                    "× 2 models "
                    f"({'4-bit' if eval_mode == 'qlora' else m.dtype})", 2 * rouge,
                    cost.weights(eval_mode) + cost.kv_cache(e.batch_size, data.tokens + e.max_new_tokens)))
    out.append(Step(f"fit-attributor: {cfg.attributor.name}",
                    f"fitted on the {data.records:,} masked records "
                    + ("(reads the target)" if cfg.attributor.name in ("influence", "trak") else ""),
                    cost.train_seconds(m.mode, data.records * data.tokens / world)
                    if cfg.attributor.name in ("influence", "trak") else None))
    for method in u.methods:
        out.append(_unlearn_step(cfg, method, world, cost, data, size))
    models = ["oracle", "target", *u.methods]
    eval_items = _capped(cfg, list(data.scored.values()))  # as dareu.eval.sets picks them
    scored = eval_items + (_capped(cfg, [data.holdout]) if "mia" in e.metrics else 0)
    gen = cost.generate_seconds(eval_mode, eval_items, e.max_new_tokens, e.batch_size)
    per_model = gen + cost.forward_seconds(eval_mode, scored * data.tokens * 6)
    out.append(Step("evaluate", f"{len(models)} models ({', '.join(models)}): {eval_items:,} greedy "
                    f"answers each ({_splits(cfg, data)}) + teacher-forced scores, on rank 0, "
                    f"{'4-bit' if eval_mode == 'qlora' else m.dtype}; the oracle stays loaded as "
                    "fluency judge", per_model * len(models),
                    2 * cost.weights(eval_mode) + cost.kv_cache(e.batch_size, data.tokens + e.max_new_tokens)))
    out.append(Step("report", "report.md, report.html, plots/", 5.0, None))
    return out


def _unlearn_step(cfg: Config, method: str, world: int, cost: Cost, data: DataSize, size: str) -> Step:
    from dareu.modules.registry import get_method

    m, u = cfg.model, cfg.unlearn
    steps = u.steps_of(get_method(method))
    mode = m.mode
    ref = cost.weights(mode) / cost.shards if mode == "full" else 0.0  # adapters off = the reference
    if method == "dareu":
        seqs = u.sampling.prompts_per_step * u.sampling.group_size
        length = data.tokens / 2 + u.sampling.max_new_tokens
        per_step = (cost.generate_seconds(mode, seqs, u.sampling.max_new_tokens, seqs)
                    + u.objective.epochs * cost.train_seconds(mode, seqs * length)
                    + 2 * cost.forward_seconds(mode, seqs * length)  # reference and π_old
                    + cost.train_seconds(mode, u.retain.batch_size * data.tokens))
        what = (f"DareU {u.objective.algorithm}, {mode} {size}: {steps} steps × {u.sampling.prompts_per_step} prompts "
                f"× {u.sampling.group_size} responses per rank (global {u.sampling.prompts_per_step * world} prompts), "
                f"{u.objective.epochs} updates per step, ≤ {u.sampling.max_new_tokens} new tokens, "
                f"lr {u.lr:g}")
        act = cost.activations(seqs, length) + cost.kv_cache(seqs, length)
    else:
        b = u.baselines
        rows = b.forget_batch_size + b.retain_batch_size
        per_step = cost.train_seconds(mode, rows * data.tokens) + cost.forward_seconds(mode, rows * data.tokens)
        what = (f"{method}, {mode} {size}: {steps} steps × ({b.forget_batch_size} forget + "
                f"{b.retain_batch_size} retain) records, lr {b.lr or u.lr:g}")
        act = cost.activations(rows, data.tokens)
    peak = cost.trained_model(mode) + ref + act
    return Step(f"unlearn: {method}", what, steps * per_step, peak)


def _capped(cfg: Config, splits: list[int]) -> int:
    """Items of these splits once eval.max_items caps each of them."""
    cap = cfg.eval.max_items
    return sum(min(n, cap) if cap else n for n in splits)


def _rouge_splits(cfg: Config, data: DataSize) -> str:
    splits = {"forget": data.forget, "retain": data.retain, "test": data.test}
    return ", ".join(f"{_capped(cfg, [n]):,} {name}" for name, n in splits.items())


def _splits(cfg: Config, data: DataSize) -> str:
    return ", ".join(f"{_capped(cfg, [n]):,} {name}" for name, n in data.scored.items())


def _size(params: float) -> str:
    return f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"≈ {seconds:.0f} s"
    if seconds < 5400:
        return f"≈ {seconds / 60:.0f} min"
    return f"≈ {seconds / 3600:.1f} h"


def _memory(nbytes: float | None) -> str:
    return "—" if nbytes is None else f"≈ {nbytes / GIB:.1f} GiB"


# ---------------------------------------------------------------------------------------------
# The command


def plan(cfg: Config, recipe: str, tflops: float | None = None, gbps: float | None = None) -> str:
    """The plan as text (nothing is written)."""
    from dareu.errors import EnvironmentProblem
    from dareu.preflight import (_check_attributors, _check_methods, _check_model_folders,
                                 check_strategy)
    from dareu.trainer import check_environment

    # the run's own checks, in its order: the strategy refusals hold whatever machine plans
    _check_methods(cfg)
    _check_attributors(cfg)
    check_strategy(cfg, "run")
    notes = []
    try:
        check_environment(cfg)
    except EnvironmentProblem as e:  # a plan may be made on another machine than the run's
        notes.append(f"note: on this machine the run would stop here: {e}")
    _check_model_folders(cfg)  # names and folders (the corpus is read below, hub data is not)
    world = _world(cfg)
    data = data_size(cfg)
    target = target_shape(cfg)
    flops, bandwidth, how = device_rates(cfg, tflops, gbps)
    cost = Cost(target, cfg, flops, bandwidth, "cuda" if on_gpu(cfg) else "cpu", world)
    steps = plan_steps(cfg, world, cost, data, target)
    lines = [f"dareu plan: {recipe} → {cfg.run.output_dir} (nothing written)",
             f"model: {'≈ ' if target.guessed else ''}{_size(target.params)} parameters "
             f"({target.source}), unlearning mode "
             f"{cfg.model.mode}, {cfg.model.dtype}, precision {cfg.trainer.precision}",
             f"data: {data.forget:,} forget, {data.retain:,} retain, {data.test:,} test QA, "
             f"≈ {data.tokens:.0f} tokens each ({data.source})",
             f"devices: world size {world} ({cfg.trainer.num_nodes} node(s) × {cfg.trainer.devices} "
             f"device(s)), strategy {_strategy(cfg)}; {flops / 1e12:.2f} TFLOP/s, "
             f"{bandwidth / 1e9:.0f} GB/s, {how}",
             "estimates: rough, within about 2× (FLOPs / rate; memory per device = weights + "
             "trainable state + activations + KV cache)", ""]
    width = max(len(s.stage) for s in steps)
    for s in steps:
        lines.append(f"{s.stage:<{width}}  {_duration(s.seconds):>11}  {_memory(s.peak_bytes):>12}  {s.what}")
    total = sum(s.seconds or 0 for s in steps)
    peak = max((s.peak_bytes or 0) for s in steps)
    lines += ["", f"total ≈ {_duration(total)[2:]}, peak ≈ {peak / GIB:.1f} GiB per device", *notes]
    return "\n".join(lines)


def _strategy(cfg: Config) -> str:
    from dareu.trainer import FSDP2

    strategy = str(cfg.trainer.strategy)
    if strategy.lower() == FSDP2:
        return (f"{strategy} (FSDP2: every trained model's weights, gradients and optimiser state "
                "sharded over the ranks)")
    return strategy


def _world(cfg: Config) -> int:
    d = cfg.trainer.devices
    if isinstance(d, int):
        n = d
    elif isinstance(d, (list, tuple)):
        n = len(d)
    elif cfg.trainer.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        n = torch.cuda.device_count()
    else:
        n = 1
    return max(1, n) * cfg.trainer.num_nodes


def plan_cli(recipe: str, overrides: list[str], tflops: float | None, gbps: float | None) -> int:
    from dareu.config import load_config

    cfg = load_config(recipe, overrides)
    print(plan(cfg, recipe, tflops, gbps))
    return 0

