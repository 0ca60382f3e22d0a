"""Where DareU stops pushing a prompt (`unlearn.let_go`, `unlearn.let_go_start_mass`).

A group of G answers whose mean reward is ≥ −let_go (de-attributed and fluent) gets zero
advantages (`dareu.rl.let_go`). Whether that rule is on depends on the target: the mean forget
mass of the first rollout (the reference's own samples) tells a target that memorised its forget
owners (TOFU tiny 0.92–0.98, the quickstart 0.78–0.95) from one that barely did (notes 0.12–0.33).
On a memorised target the push past the attributor's floor is what breaks the memorised wording
the masked attributor cannot see (the owner's name, the answer's frame); letting go there cost
TOFU forget01 0.01–0.02 of ToW. On a barely memorised one that push only drifts past the oracle;
letting go gained notes 0.045 (docs/dareu_defaults.md). The start mass is measured once, averaged
over ranks, and checkpointed.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from dareu.modules.rollout import RankMean
from dareu.rl import finished_groups, let_go


class LetGo:
    """The let-go rule of one DareU run."""

    def __init__(self, level: float, start_below: float) -> None:
        self.level, self.start_below = level, start_below
        self.start_mass: float | None = None  # mean forget mass of the first rollout

    def observe(self, forget_mass: Tensor, rank_mean: RankMean) -> None:
        """Record the first rollout's mean forget mass (later calls change nothing)."""
        if self.start_mass is None:
            self.start_mass = float(rank_mean(forget_mass.float().mean()))

    @property
    def active_level(self) -> float:
        """The level in force: `level` on a barely memorised target, else 0 (off)."""
        if self.level <= 0 or self.start_mass is None:
            return 0.0
        return self.level if self.start_below >= 1 or self.start_mass < self.start_below else 0.0

    def apply(self, advantages: Tensor, rewards: Tensor, group_size: int) -> Tensor:
        return let_go(advantages, rewards, group_size, self.active_level)

    def share(self, rewards: Tensor, group_size: int) -> Tensor | None:
        """The share of prompts let go (for the step log), None while the rule is off."""
        level = self.active_level
        return finished_groups(rewards, group_size, level).float().mean() if level > 0 else None

    def state_dict(self) -> dict[str, Any]:
        return {"start_mass": self.start_mass}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.start_mass = state.get("start_mass")
