"""Gradient ascent: raise the NLL of the forget answers, nothing else (the fastest to forget and to
drift; the floor every other baseline improves on)."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.losses import grad_ascent_loss
from dareu.modules.registry import register_method


@register_method("grad_ascent")
class GradAscent(LossUnlearnMethod):
    """loss = −ℓ(forget)"""

    uses_retain = False

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f = outputs["forget"]
        return grad_ascent_loss(f.logps, f.mask)
