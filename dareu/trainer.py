"""Build a `lightning.Trainer` from the recipe's trainer section (passed through unchanged)."""

from __future__ import annotations

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


def resolve_device(cfg: TrainerConfig) -> torch.device:
    """The device single-process work (generation, evaluation) runs on."""
    check_accelerator(cfg)
    if cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


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
    return L.Trainer(**kw)
