"""`dareu unlearn`: each method of `unlearn.methods` starts from the target and saves its model.

One stage per method (`stages/unlearn-<method>.json`). While a method trains, Lightning
checkpoints go to `methods/<method>/checkpoints/` every `unlearn.checkpoint_every` steps; a killed
run resumes from `last.ckpt` there (or from `--resume PATH`). The finished model replaces the method
folder in one rename, which also removes the checkpoints. Step metrics go to `logs/<method>/metrics.csv`.
"""

from __future__ import annotations

import csv
import gc
import io
import logging
import shutil
import time
from pathlib import Path

import lightning as L
import torch

from dareu.config import config_hash
from dareu.io import atomic_dir, atomic_write_json, atomic_write_text, read_json
from dareu.pipeline import Run, from_rank_zero, is_rank_zero
from dareu.stages import objects

log = logging.getLogger("dareu")

ATTRIBUTOR_STAGE = "attributor"


def unlearn(run: Run, resume: str | Path | None = None) -> dict:
    """Run every method of `unlearn.methods`; returns {method: final training metrics}."""
    from dareu.modules.registry import get_method

    cfg = run.cfg
    run.corpus  # noqa: B018  (fail on a bad corpus before loading any model)
    explicit = [resume] if resume else []  # `--resume PATH` is for the first method that still runs
    results = {}
    for name in cfg.unlearn.methods:
        method = get_method(name)
        results[name] = run.stage(f"unlearn-{name}", stage_key(run, name, method.uses_attributor),
                                  lambda: _unlearn_one(run, name, explicit.pop() if explicit else None),
                                  outputs=[run.method_dir(name) / saved_model_file(cfg.model.mode)])
    return results


def saved_model_file(mode: str) -> str:
    """The file that proves a method's model was saved (Policy.save): the full model's config, or
    the adapter's (a merged copy, when asked for, is written beside it in the same rename)."""
    return "config.json" if mode == "full" else "adapter/adapter_config.json"


def stage_key(run: Run, name: str, uses_attributor: bool) -> list:
    """What a method's result depends on: its settings, the model, the target (and the attributor)."""
    from dareu.eval.fingerprint import folder_fingerprint
    from dareu.trainer import training_key

    cfg = run.cfg
    target = run.stage_hash("target") or folder_fingerprint(run.target_dir)
    key = [name, cfg.unlearn, cfg.model, cfg.data, cfg.run.seed, cfg.trainer.precision, target,
           *training_key(cfg.trainer)]
    if cfg.unlearn.reward.fluency.judge == "base":  # the judge is part of the reward
        key.append(run.stage_hash("base") or str(run.base_dir))
    if uses_attributor:
        key += [cfg.attributor, run.stage_hash(ATTRIBUTOR_STAGE) or folder_fingerprint(run.attributor_dir)]
    return key


def _unlearn_one(run: Run, name: str, resume: str | Path | None) -> dict:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from dareu.modules.policy import Policy
    from dareu.modules.registry import get_method
    from dareu.sharding import full_state_dict
    from dareu.trainer import make_trainer, manual_optimisation_overrides, resolve_device

    cfg, out = run.cfg, run.method_dir(name)
    ckpt_dir = out / "checkpoints"
    ckpt = Path(resume) if resume else _resumable(ckpt_dir, config_hash(*stage_key(
        run, name, get_method(name).uses_attributor)))
    ckpt = from_rank_zero(ckpt)  # under DDP every rank resumes from what rank 0 chose
    metrics_csv = run.out / "logs" / name / "metrics.csv"
    earlier = _read_rows(metrics_csv) if ckpt else []  # the new CSV logger truncates the file
    if ckpt is None and is_rank_zero():  # a fresh start: no metrics rows of an older attempt
        shutil.rmtree(run.out / "logs" / name, ignore_errors=True)
    L.seed_everything(cfg.unlearn.seed, workers=True, verbose=False)
    device = resolve_device(cfg.trainer) if cfg.model.mode == "qlora" else None  # 4-bit loads in place
    policy = Policy.from_pretrained(run.target_dir, run.tokenizer, cfg.model, cfg.model.mode, device)
    method = get_method(name)
    steps = cfg.unlearn.steps_of(method)
    reward = objects.reward(run) if method.uses_attributor else None
    module = method.build(policy, run.corpus.forget, run.corpus.retain, cfg, reward,
                          holdout=run.corpus.holdout)
    if cfg.unlearn.reward.fluency.judge == "base" and hasattr(module, "set_fluency_judge"):
        log.info("fluency judge: the base model at %s", run.base_dir)
        module.set_fluency_judge(objects.load_for_eval(run, run.base_dir))
    per_step = module.optimizer_steps_per_batch
    checkpoints = ModelCheckpoint(dirpath=ckpt_dir, every_n_train_steps=cfg.unlearn.checkpoint_every * per_step,
                                  save_last=True)
    manual = {} if module.automatic_optimization else manual_optimisation_overrides(cfg.trainer, name)
    # a CSV row per RL step, flushed every step: a killed run keeps its curve up to the kill
    trainer = make_trainer(cfg.trainer, run.out / "logs", name, flush_every=1,
                           max_steps=steps * per_step, enable_checkpointing=True,
                           callbacks=[checkpoints], log_every_n_steps=1, **manual)
    log.info("global batch per step: %d prompts × %d responses (unlearn.sampling.prompts_per_step=%d per "
             "rank × %d ranks)", cfg.unlearn.sampling.prompts_per_step * trainer.world_size,
             cfg.unlearn.sampling.group_size, cfg.unlearn.sampling.prompts_per_step, trainer.world_size)
    if trainer.is_global_zero:
        atomic_write_json(ckpt_dir / "stage.json", {"hash": config_hash(*stage_key(
            run, name, module.uses_attributor))})
    log.info("unlearning with %s (%s mode) for %d steps%s", name, cfg.model.mode, steps,
             f", resuming from {ckpt}" if ckpt else "")
    t0 = time.time()
    trainer.fit(module, ckpt_path=str(ckpt) if ckpt else None)
    wall = time.time() - t0
    weights = full_state_dict(policy.model)  # FSDP2: gathered onto rank 0 (every rank calls it)
    if trainer.is_global_zero:
        _prepend_rows(metrics_csv, earlier)
        with atomic_dir(out) as tmp:
            policy.save(tmp, cfg.model, merge=cfg.model.merge_adapters, state_dict=weights)
    # the last step's metrics from the CSV, not trainer.callback_metrics: a run resumed from its
    # final checkpoint trains no step and would report none
    result = {"steps": steps, "steps_run": getattr(module, "rollouts_done", None),
              "optimizer_steps": int(trainer.global_step),
              "train_wall_s": round(wall, 2), "mode": cfg.model.mode, **_last_metrics(metrics_csv)}
    del trainer, module, policy
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def _resumable(ckpt_dir: Path, stage_hash: str) -> Path | None:
    """The newest complete checkpoint of an interrupted attempt with the same config (`last.ckpt`
    first); stale checkpoints are removed. A kill can land while Lightning rewrites `last.ckpt`, so
    a missing or truncated file falls back to the step checkpoint beside it."""
    import zipfile

    found = sorted(ckpt_dir.glob("*.ckpt"), key=lambda p: (p.stat().st_mtime, p.name == "last.ckpt"),
                   reverse=True) if ckpt_dir.is_dir() else []
    if not found:
        return None
    if (read_json(ckpt_dir / "stage.json") or {}).get("hash") != stage_hash:
        log.warning("checkpoints in %s were written with another config; starting afresh", ckpt_dir)
        if is_rank_zero():
            shutil.rmtree(ckpt_dir, ignore_errors=True)
        return None
    complete = [p for p in found if zipfile.is_zipfile(p)]  # torch checkpoints are zip archives
    return complete[0] if complete else None


def _last_metrics(path: Path) -> dict[str, float]:
    """The last value of every logged metric (rows may hold only some columns)."""
    last: dict[str, float] = {}
    for row in _read_rows(path):
        for k, v in row.items():
            if k not in ("step", "epoch") and v not in (None, ""):
                last[k] = round(float(v), 5)
    return last


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _prepend_rows(path: Path, earlier: list[dict[str, str]]) -> None:
    """Put an interrupted attempt's rows (steps before the resumed ones) back in front of the new rows."""
    if not earlier:
        return
    new = _read_rows(path)
    first = min((int(r["step"]) for r in new if r.get("step")), default=None)
    rows = [r for r in earlier if first is None or int(r["step"]) < first] + new
    keys = sorted({k for r in rows for k in r})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
