"""When DareU's training diverges: a NaN / inf reward or loss stops the run with
`TrainingDiverged`, naming what went wrong, what to look at and where the last good checkpoint
is (`checkpoint_dir()`, asked only then)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from dareu.errors import TrainingDiverged


def check_rewards(rewards: Tensor, prompts: list[str], responses: list[str], step: int,
                  checkpoint_dir: Callable[[], str]) -> None:
    """Every reward (N,) of DareU step `step` is finite, else the run stops naming a response."""
    bad = ~torch.isfinite(rewards)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise TrainingDiverged(
            f"DareU step {step}: the reward is NaN/inf for {int(bad.sum())} of "
            f"{len(responses)} responses (e.g. response {responses[i]!r} to {prompts[i]!r}). "
            "The attributor produced an invalid score; check it (dareu fit-attributor). The "
            f"last good checkpoint is kept in {checkpoint_dir()}.")


def check_loss(loss: Tensor, step: int, lr: float, checkpoint_dir: Callable[[], str]) -> None:
    """The update's loss of DareU step `step` is finite, else the run stops (`lr`: unlearn.lr)."""
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"DareU step {step}: the loss is {loss.item()} (training diverged). Lower unlearn.lr "
            f"(now {lr}) or raise unlearn.objective.beta; the last good checkpoint is kept in "
            f"{checkpoint_dir()}.")
