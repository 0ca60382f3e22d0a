"""The reward floor: where DareU lets go (`unlearn.reward_floor=foreign`).

An answer is de-attributed once the attributor gives it no more forget mass than it gives text by
other owners. The floor r₀ is the mean reward of *foreign* answers (retain owners' answers put
after the forget prompts, `dareu.rl.foreign_answers`, the fluency guard's anchor too), measured on
the first rollout and then fixed (checkpointed). Every reward is then read relative to it,
r ← min(r − r₀, 0): answers at or past the floor all score 0, so a group of them has no spread
(zero group advantage) and no absolute push. Without it, GRPO's std scaling turns the attributor's
noise among near-zero masses into advantages of ±1 and the policy keeps drifting from the target
after the job is done (over-forgetting where the target barely memorised its forget owners).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from torch import Tensor

from dareu.rl import foreign_answers

Score = Callable[[list[str], list[str]], Tensor]
"""(prompts, responses) -> rewards (N,): the run's attribution reward, no fluency guard."""


class RewardFloor:
    """The floor of one DareU run; `mode` none leaves rewards as they are."""

    def __init__(self, mode: str, forget_prompts: Sequence[str], retain_answers: Sequence[str],
                 seed: int) -> None:
        self.mode, self.seed = mode, seed
        self.forget_prompts, self.retain_answers = list(forget_prompts), list(retain_answers)
        self.value: float | None = None  # r₀, set on the first rollout

    @property
    def active(self) -> bool:
        """A floor needs retain answers to borrow; without them (or with `none`) there is none."""
        return self.mode == "foreign" and len(self.retain_answers) > 0

    def apply(self, rewards: Tensor, score: Score, rank_mean: Callable[[Tensor], Tensor]) -> Tensor:
        """`rewards` (N,) relative to the floor, min(r − r₀, 0); r₀ measured with `score` on the
        first call (the mean over ranks, so every rank lets go at the same point)."""
        if not self.active:
            return rewards
        if self.value is None:
            answers = foreign_answers(self.retain_answers, len(self.forget_prompts), self.seed)
            r0 = score(self.forget_prompts[:len(answers)], answers).float().mean()
            self.value = float(rank_mean(r0.to(rewards.device)))
        return (rewards - self.value).clamp(max=0.0)

    def state_dict(self) -> dict[str, Any]:
        return {"reward_floor": self.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value = state.get("reward_floor")
