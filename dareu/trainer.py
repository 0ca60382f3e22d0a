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


def check_strategy(cfg) -> None:
    """Reject strategy/model combinations known to fail deep inside Lightning (listed in
    docs/scale_out.md, "Refused combinations"), before any stage runs. `cfg` is the whole Config."""
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
    if strategy == FSDP2:
        if qlora:
            raise ConfigError("trainer.strategy=fsdp2 with 4-bit QLoRA (model.mode or finetune.mode = "
                              "qlora): sharding bitsandbytes' 4-bit weights is not supported. Use "
                              "trainer.strategy=ddp, or fsdp2 with model.mode=lora / full.")
        others = [m for m in cfg.unlearn.methods if m != "dareu"]
        if others:
            raise ConfigError(f"trainer.strategy=fsdp2 with unlearn.methods {others}: fsdp2 shards "
                              "DareU only. Run those methods with trainer.strategy=fsdp (GPU) or ddp.")
        if cfg.model.merge_adapters:
            raise ConfigError("trainer.strategy=fsdp2 with model.merge_adapters=true: merging the "
                              "adapters of a sharded model is not implemented. Set "
                              "model.merge_adapters=false and merge the saved adapter afterwards.")
        if not isinstance(cfg.trainer.devices, int) or isinstance(cfg.trainer.devices, bool):
            raise ConfigError(f"trainer.strategy=fsdp2 needs trainer.devices as a number of devices "
                              f"per node, got {cfg.trainer.devices!r}.")
    elif ("fsdp" in strategy or "deepspeed" in strategy) and "dareu" in cfg.unlearn.methods:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with unlearn.methods containing "
                          "dareu: DareU runs under trainer.strategy=ddp or fsdp2 (sharded training, "
                          "weights gathered for each rollout's decode and for saving); Lightning's "
                          "FSDP (v1) and DeepSpeed strategies are supported for the loss-based "
                          "baselines only. Run DareU with fsdp2 or ddp.")
    if cfg.trainer.precision == "bf16-true" and qlora:
        raise ConfigError("trainer.precision=bf16-true casts the LoRA adapters and upcast norms of a "
                          "4-bit model to bf16; use bf16-mixed or 32-true with QLoRA.")


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
    """Everything about the machine and strategy that can be refused before a stage writes."""
    from dareu.loggers import check_logger, make_callbacks

    check_accelerator(cfg.trainer)
    check_strategy(cfg)
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
