"""Where DareU stops (`unlearn.floor`): the floor measured before the first step, the push it
allows, and the stop once the forget prompts are at it (maths in `dareu.rl.floor`).

Before the first rollout the reference (the target before unlearning) answers, greedily, questions
about people it does not know (`probe`: holdout owners' questions and retain questions with the
owners' names swapped for made-up ones); the attributor scores those inventions and
`invention_floor` turns the scores into the floor. A number in `unlearn.floor` skips the
measurement. The run stops once the policy's greedy answers to the last pass over the forget
prompts (the last `steps_per_pass` steps, pooled; greedy like the floor's inventions and like
evaluation), plus the sampled answers' fluency penalty, are at the floor (`pass_at_floor`);
`unlearn.steps` stays the ceiling. The level, its spread and the last pass's figures go into
checkpoints, so a resumed run continues under the same rule.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from dareu.modules.rollout import RankMean
from dareu.modules.rollout_sampling import greedy_answers
from dareu.rl.floor import at_floor, floor_advantages, invention_floor, pass_at_floor

log = logging.getLogger("dareu")


class Floor:
    """The floor rule of one DareU run."""

    def __init__(self, setting: float | str, probe: Sequence[tuple[str, str]]) -> None:
        """`setting`: `auto` (measure) or the level itself; `probe`: (prompt, formatted prompt)
        pairs of questions about people the target does not know."""
        self.level: float | None = None if setting == "auto" else float(setting)
        self.spread = 0.0  # per-answer standard deviation of the inventions' masses
        self.probe = list(probe)
        self.steps_per_pass = 1  # steps that show every forget prompt once (`start`)
        self.world = 1  # data-parallel ranks: each step pools their answers
        self.recent: list[tuple[float, int]] = []  # the last pass: (mean cost, answers) a step

    def start(self, n_prompts: int, prompts_per_step: int, world: int) -> None:
        """Size a pass over the forget prompts for this run's ranks (the stop waits for one)."""
        self.steps_per_pass = math.ceil(n_prompts / (prompts_per_step * world))
        self.world = world

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
            answers = greedy_answers(reference, tokenizer, [t for _, t in self.probe],
                                     max_new_tokens, batch_size)
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

    def observe(self, rewards: Tensor, group_size: int, greedy_cost: Tensor,
                penalty: Tensor | None, rank_mean: RankMean) -> Tensor:
        """Add the step's greedy answers' costs (forget mass + charges) to the last pass; returns
        the share of the step's sampled groups at the floor."""
        cost = greedy_cost.float().mean()
        if penalty is not None:  # degenerate sampled text keeps a run from counting as done
            cost = cost + penalty.float().mean()
        mean = float(rank_mean(cost))
        self.recent = (self.recent + [(mean, greedy_cost.numel() * self.world)])[-self.steps_per_pass:]
        return at_floor(rewards, group_size, self.level or 0.0, self.spread).float().mean()

    @property
    def done(self) -> bool:
        """The pooled greedy answers of the last pass over the forget prompts are at the floor."""
        if len(self.recent) < self.steps_per_pass:
            return False
        n = sum(k for _, k in self.recent)
        mean = sum(m * k for m, k in self.recent) / n
        return pass_at_floor(mean, n, self.level or 0.0, self.spread)

    def state_dict(self) -> dict[str, Any]:
        return {"floor": self.level, "floor_spread": self.spread,
                "floor_recent": [list(r) for r in self.recent]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("floor") is not None:
            self.level = float(state["floor"])
            self.spread = float(state.get("floor_spread", 0.0))
        self.recent = [(float(m), int(k)) for m, k in state.get("floor_recent", [])]
