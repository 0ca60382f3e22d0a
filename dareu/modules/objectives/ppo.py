"""ppo: a value head on the policy's last hidden states, the KL to the reference folded into
per-token rewards, GAE advantages and PPO's clipped value loss beside the policy loss."""

from __future__ import annotations

from torch import Tensor, nn

from dareu.config import Config
from dareu.modules.objectives.base import CLIP_EPS, KL_ESTIMATOR, Aggregate, Objective
from dareu.modules.rollout import Rollout
from dareu.rl import (clipped_policy_loss, clipped_value_loss, gae, kl_shaped_rewards,
                      masked_whiten)

GAMMA, GAE_LAMBDA = 1.0, 0.95  # no discount over a response; the usual GAE λ


class PPOObjective(Objective):
    """Token-level advantages (N, R) from a critic (`value_head`, trained with the policy at
    `unlearn.objective.ppo.vf_coef`); the floor does not apply (GAE advantages have no groups)."""

    uses_values = True
    needs_old_logp = True  # the KL-shaped rewards read the behaviour policy

    def __init__(self, cfg: Config, hidden_size: int) -> None:
        super().__init__(cfg)
        self.value_head = nn.Linear(hidden_size, 1)
        # V ≡ 0 at the start: no bias before the critic has data
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def networks(self) -> dict[str, nn.Module]:
        return {"value_head": self.value_head}

    def values(self, hidden: Tensor | None) -> Tensor | None:
        # detached: the critic learns on the policy's features without pulling them
        return self.value_head(hidden.detach().float()).squeeze(-1)  # (n, R)

    def advantages(self, ro: Rollout) -> None:
        o = self.cfg.unlearn.objective
        token_rewards = kl_shaped_rewards(ro.rewards, ro.old_logp, ro.ref_logp, ro.mask, o.beta,
                                          KL_ESTIMATOR)  # (N, R)
        adv, ro.returns = gae(token_rewards, ro.old_values, ro.mask, GAMMA, GAE_LAMBDA)
        ro.advantages = masked_whiten(adv, ro.mask) if ro.mask.sum() > 1 else adv  # (N, R)

    def loss(self, logp: Tensor, values: Tensor | None, ro: Rollout,
             aggregate: Aggregate) -> tuple[Tensor, dict[str, Tensor]]:
        pg, clip_frac = clipped_policy_loss(logp, ro.old_logp, ro.advantages, ro.mask, CLIP_EPS)
        vf = clipped_value_loss(values, ro.old_values, ro.returns, ro.mask, CLIP_EPS)
        value_loss = aggregate(vf, ro.mask)
        loss = aggregate(pg, ro.mask) + self.cfg.unlearn.objective.ppo.vf_coef * value_loss
        return loss, {"clip_frac": clip_frac, "value_loss": value_loss}
