"""IdkPO: DPO that prefers an "I don't know"-style answer over the true forget answer, so the
model learns a refusal instead of gibberish (Maini et al., 2024)."""

from __future__ import annotations

import random
from importlib.resources import files
from pathlib import Path

from torch import Tensor

from dareu.errors import ConfigError
from dareu.modules.baselines.base import LossUnlearnMethod, Scored
from dareu.modules.baselines.data import Item
from dareu.modules.baselines.losses import dpo_loss
from dareu.modules.registry import register_method


def load_idk_answers(path: str | None = None) -> list[str]:
    """Non-empty lines of `path`, or of the shipped `dareu/data/idk_answers.txt`."""
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"unlearn.baselines.idk_answers={path!r}: no such file (expected a text "
                          "file with one answer per line).")
    text = Path(path).read_text() if path else files("dareu.data").joinpath("idk_answers.txt").read_text()
    answers = [line.strip() for line in text.splitlines() if line.strip()]
    if not answers:
        raise ConfigError(f"unlearn.baselines.idk_answers={path!r} holds no answers.")
    return answers


@register_method("idkpo")
class IdkPO(LossUnlearnMethod):
    """loss = −(2/β) · mean log σ(β [(log π_θ − log π_ref)(idk) − (log π_θ − log π_ref)(y_forget)])
    + α · ℓ(retain)"""

    reference_on = ("forget", "idk")

    def forget_items(self) -> list[Item]:
        # each forget prompt: its true answer (rejected) beside a seeded-random idk answer (chosen)
        answers, rng = load_idk_answers(self.hp.idk_answers), random.Random(self.cfg.unlearn.seed)
        return [{"forget": self.encode(r), "idk": self.encode(r, rng.choice(answers))}
                for r in self.forget]

    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        f, idk = outputs["forget"], outputs["idk"]
        forget = dpo_loss(idk.seq_logp(), idk.ref_seq_logp(), f.seq_logp(), f.ref_seq_logp(),
                          self.hp.idk_beta)
        return forget + self.retain_term(outputs)
