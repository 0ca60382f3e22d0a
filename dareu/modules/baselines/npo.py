"""Negative Preference Optimisation (Zhang et al., 2024): DPO with only a rejected answer, so the
push away from a forget answer fades once it is less likely than under the reference."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.losses import npo_loss
from dareu.modules.registry import register_method


@register_method("npo")
class NPO(LossUnlearnMethod):
    """loss = −(2/β) · mean log σ(−β (log π_θ(y|x) − log π_ref(y|x)))  on forget  + α · ℓ(retain)"""

    reference_on = ("forget",)

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f = outputs["forget"]
        forget = npo_loss(f.seq_logp(), f.ref_seq_logp(), self.hp.npo_beta)
        self.log("npo_forget_loss", forget.detach(), batch_size=f.logps.shape[0])
        return forget + self.retain_term(outputs)
