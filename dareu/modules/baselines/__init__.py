"""Loss-based unlearning baselines (as open-unlearning implements them), one file each; importing this package
registers them: grad_ascent, grad_diff, kl, npo, simnpo, idkpo."""

from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.grad_ascent import GradAscent
from dareu.modules.baselines.grad_diff import GradDiff
from dareu.modules.baselines.idkpo import IdkPO, load_idk_answers
from dareu.modules.baselines.kl import KLMin
from dareu.modules.baselines.npo import NPO
from dareu.modules.baselines.simnpo import SimNPO

BASELINES = ("grad_ascent", "grad_diff", "kl", "npo", "simnpo", "idkpo")

__all__ = ["BASELINES", "GradAscent", "GradDiff", "IdkPO", "KLMin", "LossUnlearnMethod", "NPO", "Scored",
           "SimNPO", "load_idk_answers"]
