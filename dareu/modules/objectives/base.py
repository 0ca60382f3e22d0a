"""What DareUModule asks of an RL objective (`unlearn.objective.algorithm`).

The module samples and scores a rollout, fixes the behaviour policy's log-probs (`old_logp`) and
runs the updates. The objective sets the rollout's advantages and turns one update's log-probs
into a loss. An objective that trains more than the policy (ppo's value head) names its extra
networks in `networks`: the module holds them as attributes of those names, so they move to the
device, shard and go into checkpoints with it (`value_head.weight`), and the optimiser trains
them in `param_groups`. Their weights are all the state an objective has.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from dareu.config import Config
from dareu.modules.rollout import Rollout

KL_ESTIMATOR = "k3"  # unbiased and non-negative (Schulman, "Approximating KL divergence", 2020)
CLIP_EPS = 0.2  # PPO's ratio clip, also the value loss's

Aggregate = Callable[[Tensor, Tensor], Tensor]
"""(per-token loss (n, R), mask (n, R)) -> the update's loss: the module's token mean over the
global batch."""


class Objective:
    """Advantages and loss of one RL algorithm; by default it trains the policy alone."""

    uses_values = False
    """Whether `values` reads the policy's last hidden states (the module then asks for them)."""
    needs_old_logp = False
    """Whether the advantages read the behaviour policy's log-probs: with one update per rollout
    they are known only at that update's forward, so the module sets the advantages there."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def networks(self) -> dict[str, nn.Module]:
        """Trainable networks besides the policy, by the attribute name the module holds them as."""
        return {}

    def param_groups(self) -> list[dict]:
        """The optimiser's groups for `networks()`: the run's learning rate, no weight decay."""
        return [{"params": list(m.parameters()), "lr": self.cfg.unlearn.lr, "weight_decay": 0.0}
                for m in self.networks().values()]

    def values(self, hidden: Tensor | None) -> Tensor | None:
        """(n, R) value estimates from the policy's last hidden states; None without a critic."""
        return None

    def advantages(self, ro: Rollout) -> None:
        """Set `ro.advantages` (and whatever else `loss` reads of the rollout)."""
        raise NotImplementedError

    def loss(self, logp: Tensor, values: Tensor | None, ro: Rollout,
             aggregate: Aggregate) -> tuple[Tensor, dict[str, Tensor]]:
        """One update's loss from the policy's log-probs of the sampled tokens (n, R) (and its
        `values`), and the statistics to log."""
        raise NotImplementedError
