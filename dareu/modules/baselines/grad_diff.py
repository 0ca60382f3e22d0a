"""Gradient difference: gradient ascent on the forget answers, descent on the retain answers."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.losses import grad_ascent_loss
from dareu.modules.registry import register_method


@register_method("grad_diff")
class GradDiff(LossUnlearnMethod):
    """loss = −ℓ(forget) + α · ℓ(retain)"""

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f = outputs["forget"]
        return grad_ascent_loss(f.logps, f.mask) + self.retain_term(outputs)
