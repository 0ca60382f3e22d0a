"""Where DareU stops (`unlearn.floor`): the floor measured before the first step, the push it
allows, and the stop once the forget prompts are at it (maths in `dareu.rl.floor`).

Before the first rollout the reference (the target before unlearning) answers, greedily, questions
about people it does not know (`probe`: holdout owners' questions and retain questions with the
owners' names swapped for made-up ones); the attributor scores those inventions and
`invention_floor` turns the scores into the floor. A number in `unlearn.floor` skips the
measurement. The run stops once every group of a whole pass over the forget prompts was at the
floor (`quiet_steps` consecutive steps); `unlearn.steps` stays the ceiling. The level and the
count go into checkpoints, so a resumed run continues under the same rule.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from dareu.generation import generate
from dareu.modules.rollout import RankMean
from dareu.rl.floor import at_floor, floor_advantages, invention_floor

log = logging.getLogger("dareu")


class Floor:
    """The floor rule of one DareU run."""

    def __init__(self, setting: float | str, probe: Sequence[tuple[str, str]],
                 steps_per_pass: int) -> None:
        """`setting`: `auto` (measure) or the level itself; `probe`: (prompt, formatted prompt)
        pairs of questions about people the target does not know; `steps_per_pass`: steps that
        cover every forget prompt once (the stop waits for a whole pass at the floor)."""
        self.level: float | None = None if setting == "auto" else float(setting)
        self.spread = 0.0  # per-answer standard deviation of the inventions' masses
        self.probe = list(probe)
        self.steps_per_pass = max(1, steps_per_pass)
        self.quiet_steps = 0  # consecutive steps whose every group was at the floor

    @torch.no_grad()
    def measure(self, reference: nn.Module, tokenizer, reward, max_new_tokens: int,
                rank_mean: RankMean, batch_size: int = 32) -> float:
        """Set and return the level (a set level is kept): the reference's greedy answers to the
        probe, scored by the reward's attributor."""
        if self.level is not None:
            return self.level
        if not self.probe:
            log.warning("unlearn.floor=auto: no question about an unknown person to measure the "
                        "floor on (no holdout owners and no owner names to swap); the floor is 0")
            value, spread = 0.0, 0.0
        else:
            answers = generate(reference, tokenizer, [t for _, t in self.probe], max_new_tokens,
                               batch_size)
            shares = reward.owner_shares([p for p, _ in self.probe], answers)  # (N, K)
            value, spread = invention_floor(shares.cpu(), reward.forget_index.cpu())
        device = reward.forget_index.device
        self.level, self.spread = (float(v) for v in rank_mean(torch.tensor([value, spread],
                                                                              device=device)))
        log.info("floor: forget mass %.4f (sd %.4f per answer) on %d answers of the target about "
                 "people it does not know", self.level, self.spread, len(self.probe))
        return self.level

    def apply(self, group_advantages: Tensor, rewards: Tensor, group_size: int) -> Tensor:
        return floor_advantages(group_advantages, rewards, group_size, self.level or 0.0,
                                self.spread)

    def observe(self, rewards: Tensor, group_size: int, rank_mean: RankMean) -> Tensor:
        """Count the step toward the stop; returns the share of this step's groups at the floor."""
        share = at_floor(rewards, group_size, self.level or 0.0, self.spread).float().mean()
        every = bool(rank_mean(share.reshape(1)).item() >= 1.0 - 1e-6)  # all groups, every rank
        self.quiet_steps = self.quiet_steps + 1 if every else 0
        return share

    @property
    def done(self) -> bool:
        """Every group of the last pass over the forget prompts was at the floor."""
        return self.quiet_steps >= self.steps_per_pass

    def state_dict(self) -> dict[str, Any]:
        return {"floor": self.level, "floor_spread": self.spread,
                "floor_quiet_steps": self.quiet_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("floor") is not None:
            self.level = float(state["floor"])
            self.spread = float(state.get("floor_spread", 0.0))
        self.quiet_steps = int(state.get("floor_quiet_steps", 0))


def steps_per_pass(n_prompts: int, prompts_per_step: int, world_size: int) -> int:
    """Steps that show every forget prompt once."""
    return math.ceil(n_prompts / (prompts_per_step * world_size))
