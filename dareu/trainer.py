"""Build a `lightning.Trainer` from the recipe's trainer section (its keys reach the Trainer)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from dareu.config import TrainerConfig
from dareu.errors import EnvironmentProblem


def check_accelerator(cfg: TrainerConfig) -> None:
    if cfg.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise EnvironmentProblem(f"trainer.accelerator={cfg.accelerator} but this machine has no "
                                 "CUDA device; use trainer.accelerator=cpu (or auto).")


FSDP2 = "fsdp2"
"""`trainer.strategy` value for Lightning's ModelParallelStrategy as FSDP2 data parallelism (no
tensor parallelism); it has no registry name of its own in Lightning."""


def lightning_strategy(cfg: TrainerConfig) -> Any:
    """What `lightning.Trainer(strategy=...)` gets: the recipe's string, or the FSDP2 strategy."""
    if str(cfg.strategy).lower() != FSDP2:
        return cfg.strategy
    from lightning.pytorch.strategies import ModelParallelStrategy

    return ModelParallelStrategy(data_parallel_size=cfg.devices * cfg.num_nodes, tensor_parallel_size=1)


def check_environment(cfg) -> None:
    """Everything about the machine, the logger and the callbacks that can be refused before a
    stage writes (the strategy: `dareu.preflight.check_strategy`, which `dareu plan` makes too)."""
    from dareu.loggers import check_logger, make_callbacks

    check_accelerator(cfg.trainer)
    check_logger(cfg.trainer)
    make_callbacks(cfg.trainer)  # imports and builds each once: a bad entry fails here


def resolve_device(cfg: TrainerConfig) -> torch.device:
    """The device single-process work (generation, evaluation, 4-bit loading) runs on.

    Under DDP each rank uses its own GPU: `LOCAL_RANK` (set by Lightning's launcher, torchrun or
    SLURM) picks it, so a 4-bit model loads per rank on `cuda:<local_rank>`.
    """
    check_accelerator(cfg)
    if cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank() % torch.cuda.device_count())
    return torch.device("cpu")


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def make_trainer(cfg: TrainerConfig, log_dir: str | Path, name: str, flush_every: int | None = None,
                 **overrides: Any) -> L.Trainer:
    """A Trainer with the recipe's trainer keys, the CSV logger under `log_dir/name` (plus the
    recipe's logger) and the recipe's callbacks; `overrides` are the stage's own settings
    (max_epochs / max_steps, its callbacks first, logger=False for none)."""
    from dareu.loggers import make_callbacks, make_loggers

    check_accelerator(cfg)
    kw: dict[str, Any] = dict(accelerator=cfg.accelerator, devices=cfg.devices,
                              strategy=lightning_strategy(cfg),
                              num_nodes=cfg.num_nodes, precision=cfg.precision,
                              log_every_n_steps=cfg.log_every_n_steps,
                              enable_progress_bar=cfg.enable_progress_bar,
                              deterministic=cfg.deterministic,
                              accumulate_grad_batches=cfg.accumulate_grad_batches,
                              gradient_clip_val=cfg.gradient_clip_val,
                              gradient_clip_algorithm=cfg.gradient_clip_algorithm,
                              max_time=cfg.max_time,
                              enable_checkpointing=False, enable_model_summary=False)
    callbacks = list(overrides.pop("callbacks", [])) + make_callbacks(cfg)
    if overrides.get("logger", True) is not False:
        overrides["logger"] = make_loggers(cfg, log_dir, name, flush_every)
    kw.update(overrides, callbacks=callbacks)
    if kw.get("enable_progress_bar"):
        from lightning.pytorch.callbacks import ProgressBar

        from dareu.progress import progress_bar

        if not any(isinstance(c, ProgressBar) for c in callbacks):
            kw["callbacks"] = callbacks + [progress_bar()]
    return L.Trainer(**kw)


def training_key(cfg: TrainerConfig) -> list:
    """The trainer keys that change trained weights, for stage hashes: empty at their defaults, so
    runs made before these keys existed keep their hashes."""
    d = {k: getattr(cfg, k) for k in ("accumulate_grad_batches", "gradient_clip_val",
                                      "gradient_clip_algorithm", "max_time")}
    return [] if d == {"accumulate_grad_batches": 1, "gradient_clip_val": None,
                       "gradient_clip_algorithm": "norm", "max_time": None} else [d]


def manual_optimisation_overrides(cfg: TrainerConfig, method: str) -> dict[str, Any]:
    """A manually optimised module (DareU) takes neither accumulation nor automatic clipping
    (Lightning refuses both): it updates unlearn.objective.epochs times per rollout and clips the
    gradient norm at 1. Said once in the log when the recipe sets them."""
    import logging

    if cfg.accumulate_grad_batches != 1 or cfg.gradient_clip_val is not None:
        logging.getLogger("dareu").info(
            "%s optimises manually: trainer.accumulate_grad_batches / gradient_clip_val apply to "
            "finetune, the classifier and the loss-based baselines; %s makes "
            "unlearn.objective.epochs updates per rollout and clips the gradient norm at 1",
            method, method)
    return {"accumulate_grad_batches": 1, "gradient_clip_val": None}
