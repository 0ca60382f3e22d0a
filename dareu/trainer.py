"""Build a `lightning.Trainer` from the recipe's trainer section (passed through unchanged)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

from dareu.config import TrainerConfig
from dareu.errors import EnvironmentProblem


def check_accelerator(cfg: TrainerConfig) -> None:
    if cfg.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise EnvironmentProblem(f"trainer.accelerator={cfg.accelerator} but this machine has no "
                                 "CUDA device; use trainer.accelerator=cpu (or auto).")


def check_strategy(cfg) -> None:
    """Reject strategy/model combinations known to fail deep inside Lightning (REFERENCE.md §8),
    before any stage runs. `cfg` is the whole Config."""
    from dareu.errors import ConfigError

    strategy = str(cfg.trainer.strategy).lower()
    qlora = "qlora" in (cfg.model.mode, cfg.finetune.mode)
    if qlora and "fsdp" in strategy:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with 4-bit QLoRA (model.mode or "
                          "finetune.mode = qlora): Lightning's FSDP strategy rejects bitsandbytes "
                          "precision. Use trainer.strategy=ddp (each rank loads its own 4-bit copy), "
                          "or FSDP with model.mode=lora / full.")
    if qlora and "deepspeed" in strategy:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with 4-bit QLoRA: DeepSpeed moves "
                          "the model with .to(), which 4-bit models refuse. Use trainer.strategy=ddp, "
                          "or DeepSpeed with model.mode=lora / full.")
    if ("fsdp" in strategy or "deepspeed" in strategy) and "dareu" in cfg.unlearn.methods:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with unlearn.methods containing "
                          "dareu: DareU samples with generate(), which needs the full parameters on "
                          "each rank while sharded strategies hold only a shard (no gathering is "
                          "implemented). Run DareU with trainer.strategy=ddp; the loss-based baselines "
                          "and prepare run under FSDP / DeepSpeed.")
    if cfg.trainer.precision == "bf16-true" and qlora:
        raise ConfigError("trainer.precision=bf16-true casts the LoRA adapters and upcast norms of a "
                          "4-bit model to bf16; use bf16-mixed or 32-true with QLoRA.")


def check_environment(cfg) -> None:
    """Everything about the machine and strategy that can be refused before a stage writes."""
    check_accelerator(cfg.trainer)
    check_strategy(cfg)


def resolve_device(cfg: TrainerConfig) -> torch.device:
    """The device single-process work (generation, evaluation, 4-bit loading) runs on.

    Under DDP each rank uses its own GPU: `LOCAL_RANK` (set by Lightning's launcher, torchrun or
    SLURM) picks it, so a 4-bit model loads per rank on `cuda:<local_rank>` (REFERENCE.md §8).
    """
    check_accelerator(cfg)
    if cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank() % torch.cuda.device_count())
    return torch.device("cpu")


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def make_trainer(cfg: TrainerConfig, log_dir: str | Path, name: str, **overrides: Any) -> L.Trainer:
    """A Trainer with the recipe's strategy/devices/precision, a CSV logger under `log_dir`."""
    check_accelerator(cfg)
    kw: dict[str, Any] = dict(accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy,
                              num_nodes=cfg.num_nodes, precision=cfg.precision,
                              log_every_n_steps=cfg.log_every_n_steps,
                              enable_progress_bar=cfg.enable_progress_bar,
                              deterministic=cfg.deterministic,
                              logger=CSVLogger(str(log_dir), name=name, version=""),
                              enable_checkpointing=False, enable_model_summary=False)
    kw.update(overrides)
    if kw.get("enable_progress_bar"):
        from lightning.pytorch.callbacks import ProgressBar

        from dareu.progress import progress_bar

        callbacks = list(kw.get("callbacks") or [])
        if not any(isinstance(c, ProgressBar) for c in callbacks):
            kw["callbacks"] = callbacks + [progress_bar()]
    return L.Trainer(**kw)
