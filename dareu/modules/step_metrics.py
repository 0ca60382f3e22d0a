"""What a DareU step logs: of its rollout reward and forget mass, KL to the reference, length,
fluency and advantages; the updates' own statistics (loss, clip fraction, ...); then the floor's
view (share of groups at the floor, the greedy answers' cost, the floor)."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.objectives import KL_ESTIMATOR
from dareu.modules.rollout import Rollout
from dareu.rl import kl_estimate, masked_mean


def logged_metrics(ro: Rollout, stats: dict[str, Tensor], at_floor: Tensor,
                   floor: float) -> dict[str, Tensor]:
    """0-d tensors on the rollout's device, this rank's only, in the order they are logged;
    `stats`: the updates' means; `at_floor`: `Floor.observe`'s share; `floor`: the level."""
    n = ro.sequences.shape[0]
    reward_std = ro.rewards.std() if n > 1 else ro.rewards.new_zeros(())
    kl = kl_estimate(ro.old_logp, ro.ref_logp, KL_ESTIMATOR)  # (N, R) behaviour policy ‖ reference
    return {"reward_mean": ro.rewards.mean(), "reward_std": reward_std,
            "forget_mass": ro.forget_mass.mean(), "kl": masked_mean(kl, ro.mask),
            "response_len": ro.mask.sum(1).float().mean(),
            "fluency_penalty": ro.penalty.mean(), "degenerate": (ro.penalty >= 0.5).float().mean(),
            "advantage_abs": ro.advantages.abs().mean(), **stats, "at_floor": at_floor,
            "greedy_mass": ro.greedy_cost.mean(), "floor": ro.rewards.new_tensor(floor)}
