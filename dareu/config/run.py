"""The `trainer` and `run` sections: the Lightning Trainer, the output folder and the seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from dareu.config.checks import _check, _positive


@dataclass
class TrainerConfig:
    """Passed to `lightning.Trainer` unchanged."""

    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    log_every_n_steps: int = 10
    enable_progress_bar: bool = True
    deterministic: bool = False

    def __post_init__(self) -> None:
        _check(self.accelerator in ("auto", "cpu", "gpu", "cuda", "mps"), "trainer.accelerator",
               self.accelerator, "auto, cpu, gpu, cuda or mps")
        _positive("trainer", self, "num_nodes", "log_every_n_steps")


@dataclass
class RunConfig:
    """Where the run writes, and the seed that fixes data, init, sampling and shuffling."""

    output_dir: str = "runs/quickstart"
    seed: int = 0
    threads: Optional[int] = None
    """torch intra-op threads; None leaves torch's default."""
