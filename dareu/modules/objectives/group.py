"""grpo and rloo: each response's advantage is its reward against the others in its group (the
responses to the same prompt), pushed only down to the floor; the loss adds β·KL(policy ‖
reference) on the sampled tokens."""

from __future__ import annotations

from torch import Tensor

from dareu.config import Config
from dareu.modules.floor import Floor
from dareu.modules.objectives.base import CLIP_EPS, KL_ESTIMATOR, Aggregate, Objective
from dareu.modules.rollout import Rollout
from dareu.rl import clipped_policy_loss, group_advantages, kl_estimate, rloo_advantages


class GroupObjective(Objective):
    """One advantage per response (N,): grpo the reward's z-score in its group, rloo the reward
    minus the mean of the group's other rewards; then the floor rule (`Floor.apply`)."""

    def __init__(self, cfg: Config, floor: Floor) -> None:
        super().__init__(cfg)
        self.floor = floor
        self.relative = (group_advantages if cfg.unlearn.objective.algorithm == "grpo"
                         else rloo_advantages)

    def advantages(self, ro: Rollout) -> None:
        # from the rewards alone: known at sampling, whatever the policy does next
        adv = self.relative(ro.rewards, self.cfg.unlearn.sampling.group_size)  # (N,)
        # pushed down to the floor, not past it; groups already there are left alone
        ro.advantages = self.floor.apply(adv, ro.rewards, ro.group_size)

    def loss(self, logp: Tensor, values: Tensor | None, ro: Rollout,
             aggregate: Aggregate) -> tuple[Tensor, dict[str, Tensor]]:
        pg, clip_frac = clipped_policy_loss(logp, ro.old_logp, ro.advantages, ro.mask, CLIP_EPS)
        kl = kl_estimate(logp, ro.ref_logp, KL_ESTIMATOR)  # (n, R)
        loss = aggregate(pg + self.cfg.unlearn.objective.beta * kl, ro.mask)
        return loss, {"clip_frac": clip_frac}
