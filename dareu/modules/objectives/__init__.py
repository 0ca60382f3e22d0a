"""DareU's RL objectives by `unlearn.objective.algorithm`: what turns a rollout into advantages
and an update's log-probs into a loss (`base.Objective`, the interface the module calls)."""

from __future__ import annotations

from dareu.config import Config
from dareu.modules.floor import Floor
from dareu.modules.objectives.base import CLIP_EPS, KL_ESTIMATOR, Aggregate, Objective
from dareu.modules.objectives.group import GroupObjective
from dareu.modules.objectives.ppo import PPOObjective

__all__ = ["CLIP_EPS", "KL_ESTIMATOR", "Aggregate", "GroupObjective", "Objective", "PPOObjective",
           "build_objective"]


def build_objective(cfg: Config, hidden_size: int, floor: Floor) -> Objective:
    """The objective of `cfg.unlearn.objective.algorithm`; `hidden_size`: the policy's (ppo's
    value head reads its last hidden states); `floor`: the run's floor rule (grpo and rloo push
    only down to it)."""
    if cfg.unlearn.objective.algorithm == "ppo":
        return PPOObjective(cfg, hidden_size)
    return GroupObjective(cfg, floor)
