"""The `trainer` and `run` sections: the Lightning Trainer, the output folder and the seed."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from dareu.config.checks import _check, _positive

LOGGERS = ("csv", "tensorboard", "wandb", "mlflow")


@dataclass
class TrainerConfig:
    """The `lightning.Trainer` of every training stage (finetune, classifier attributor, unlearn).
    These keys, and only these, reach the Trainer; epochs and steps come from the stage's own
    section (finetune.epochs, unlearn.steps), checkpoints from unlearn.checkpoint_every."""

    accelerator: str = "auto"
    """auto, cpu, gpu, cuda or mps."""
    devices: Any = "auto"
    """Devices per node (a number, a list of ids, or auto)."""
    strategy: str = "auto"
    """auto, ddp, fsdp2, fsdp, deepspeed, ...: Lightning's names, except fsdp2 (FSDP2 through
    Lightning's ModelParallelStrategy: every stage that trains shards its model, dareu/sharding.py).
    fsdp (v1) and deepspeed run the loss-based baselines only. What each refuses: docs/scale_out.md."""
    num_nodes: int = 1
    """Nodes of a multi-node launch (torchrun / srun start the ranks)."""
    precision: str = "32-true"
    """Lightning precision: 32-true, bf16-mixed, 16-mixed, bf16-true, ..."""
    log_every_n_steps: int = 10
    """Logging interval of finetune and classifier training (unlearning logs every step)."""
    enable_progress_bar: bool = True
    deterministic: bool = False
    """torch deterministic algorithms (slower; bit-identical reruns on GPU)."""
    accumulate_grad_batches: int = 1
    """Batches per optimiser step in finetune, classifier and loss-based baselines. DareU optimises
    manually (unlearn.objective.epochs updates per rollout) and ignores it."""
    gradient_clip_val: Optional[float] = None
    """Gradient clipping of finetune, classifier and baselines (baselines: null clips the
    gradient norm at 1, as DareU does)."""
    gradient_clip_algorithm: str = "norm"
    """norm or value: how gradient_clip_val clips."""
    max_time: Optional[str] = None
    """Stop each fit after this wall time, `DD:HH:MM:SS` (the model is saved as it is then)."""
    logger: str = "csv"
    """Where metrics go besides logs/<stage>/metrics.csv (always written: the report reads it):
    csv (only that), tensorboard, wandb or mlflow (Lightning's loggers; install the package)."""
    logger_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the chosen logger class (e.g. wandb: project, entity; mlflow:
    experiment_name, tracking_uri)."""
    callbacks: list[Any] = field(default_factory=list)
    """Extra Lightning callbacks: import paths `pkg.mod:Class`, or mappings {class_path: ...,
    init_args: {...}}; a module beside the recipe or in the working directory is importable."""

    def __post_init__(self) -> None:
        _check(self.accelerator in ("auto", "cpu", "gpu", "cuda", "mps"), "trainer.accelerator",
               self.accelerator, "auto, cpu, gpu, cuda or mps")
        _positive("trainer", self, "num_nodes", "log_every_n_steps", "accumulate_grad_batches")
        _check(self.gradient_clip_val is None or self.gradient_clip_val > 0,
               "trainer.gradient_clip_val", self.gradient_clip_val, "null or a number > 0")
        _check(self.gradient_clip_algorithm in ("norm", "value"), "trainer.gradient_clip_algorithm",
               self.gradient_clip_algorithm, "norm or value")
        _check(self.max_time is None or re.fullmatch(r"\d+:\d\d:\d\d:\d\d", self.max_time) is not None,
               "trainer.max_time", self.max_time, "null or DD:HH:MM:SS, e.g. 00:12:00:00")
        close = difflib.get_close_matches(self.logger, LOGGERS, n=1)
        _check(self.logger in LOGGERS, "trainer.logger", self.logger,
               "one of " + ", ".join(LOGGERS) + (f" (did you mean {close[0]}?)" if close else ""))
        for i, cb in enumerate(self.callbacks):
            ok = isinstance(cb, str) and cb != "" or isinstance(cb, dict) and "class_path" in cb \
                and set(cb) <= {"class_path", "init_args"}
            _check(ok, f"trainer.callbacks[{i}]", cb, "an import path `pkg.mod:Class`, or a mapping "
                   "with class_path (and optional init_args)")


@dataclass
class RunConfig:
    """Where the run writes, and the seed that fixes data, init, sampling and shuffling."""

    output_dir: str = "runs/quickstart"
    seed: int = 0
    threads: Optional[int] = None
    """torch intra-op threads; None leaves torch's default."""
