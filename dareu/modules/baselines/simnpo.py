"""SimNPO (Fan et al., 2024): NPO without the reference, on the length-normalised NLL, so long
and short forget answers are pushed alike."""

from __future__ import annotations

from torch import Tensor

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.losses import simnpo_loss
from dareu.modules.registry import register_method


@register_method("simnpo")
class SimNPO(LossUnlearnMethod):
    """loss = −(2/β) · mean log σ(β (NLL_sum/|y| − δ))  on forget  + α · ℓ(retain)"""

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f = outputs["forget"]
        forget = simnpo_loss(f.nll(), self.hp.simnpo_beta, self.hp.simnpo_delta)  # f.nll(): (B,)
        return forget + self.retain_term(outputs)
