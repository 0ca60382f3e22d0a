"""What the classifier attributor's experts share: each reads a text and gives one logit per owner.

An expert is fitted from scratch on texts (as the attributor sees them) with their owners'
indices, gives (N, K) logits for any texts, and saves / loads itself in one folder of the saved
attributor (`folder`). The classifier adds the experts' logits with weights learnt by stacking
(attributors/stacking.py). The experts: `transformer` (transformer_expert.py), `encoder`
(encoder.py) and `ngram` (ngram.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import torch


class Expert(ABC):
    """One reader of the text: fit on labelled texts, logits for texts, save / load."""

    folder: str = ""
    """Sub-folder of the saved attributor that holds this expert."""

    @abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "Expert":
        """Fit from scratch on `texts`, each labelled with its owner's index (a refit forgets the
        previous one)."""

    @abstractmethod
    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, K) float32 logits on the CPU, one column per owner."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write what `load` needs into `folder` (safetensors and JSON, never pickle)."""

    @abstractmethod
    def load(self, folder: Path) -> "Expert":
        """Read what `save` wrote; returns the expert, ready to give logits."""

    def to(self, device: str | torch.device) -> "Expert":
        """Move what scoring computes on to `device` (no-op for experts that run on the CPU)."""
        return self
