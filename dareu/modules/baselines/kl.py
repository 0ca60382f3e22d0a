"""KL minimisation: gradient ascent on the forget answers while the policy's next-token
distribution on retain answers stays close to the reference's (the whole distribution, not just
the answer tokens' likelihood as in GradDiff)."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.losses import grad_ascent_loss, kl_retain_loss
from dareu.modules.registry import register_method


@register_method("kl")
class KLMin(LossUnlearnMethod):
    """loss = −ℓ(forget) + α · KL(reference ‖ policy) on retain answer tokens"""

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f, r = outputs["forget"], outputs["retain"]
        kl = kl_retain_loss(self.reference_logits(r), r.logits, r.mask)  # logits (B, T-1, V)
        return grad_ascent_loss(f.logps, f.mask) + self.hp.retain_weight * kl
