"""The training progress bar: Lightning's own, labelled for step-bounded runs.

Unlearning runs are bounded by `max_steps` with `max_epochs=-1`, for which Lightning's rich bar
reads `Epoch 2/-2`; this one reads `Epoch 2 · 60 steps` there, and as Lightning's elsewhere.
A step is a training batch: DareU makes several optimiser updates per rollout
(`optimizer_steps_per_batch`), so its bar counts rollouts, resumed runs included.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar
from lightning.pytorch.utilities.imports import _RICH_AVAILABLE


def _steps(trainer) -> int:
    """Training batches of a step-bounded fit: max_steps over the updates per batch."""
    per_batch = getattr(trainer.lightning_module, "optimizer_steps_per_batch", 1)
    return trainer.max_steps // max(1, per_batch)


def _step_bounded(trainer) -> bool:
    return (trainer.max_epochs is None or trainer.max_epochs < 0) and trainer.max_steps > 0


def _describe(trainer, current_epoch: int) -> str:
    if _step_bounded(trainer):
        return f"Epoch {current_epoch} · {_steps(trainer)} steps"
    return f"Epoch {current_epoch}/{trainer.max_epochs - 1}"


class StepRichProgressBar(RichProgressBar):
    def _get_train_description(self, current_epoch: int) -> str:
        text = _describe(self.trainer, current_epoch)
        return f"{text:{len(self.validation_description)}}"

    @property
    def total_train_batches(self) -> int | float:
        return _steps(self.trainer) if _step_bounded(self.trainer) else super().total_train_batches


class StepTQDMProgressBar(TQDMProgressBar):
    @property
    def total_train_batches(self) -> int | float:
        return _steps(self.trainer) if _step_bounded(self.trainer) else super().total_train_batches

    def on_train_epoch_start(self, trainer, *args) -> None:
        super().on_train_epoch_start(trainer, *args)
        self.train_progress_bar.set_description(_describe(trainer, trainer.current_epoch))


def progress_bar() -> ProgressBar:
    """The bar Lightning would pick (rich when installed), with the step-aware label."""
    return StepRichProgressBar() if _RICH_AVAILABLE else StepTQDMProgressBar()
