"""Small shared helpers for the pure metric functions (not part of the public API)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

ArrayLike = Tensor | np.ndarray | Sequence[float]


def as_f64(x: ArrayLike) -> Tensor:
    """Any tensor / array / list of numbers -> detached float64 tensor (same device for tensors)."""
    if isinstance(x, Tensor):
        return x.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def as_np(x: ArrayLike) -> np.ndarray:
    """Any tensor / array / list of numbers -> 1-D float64 numpy array (on the CPU)."""
    return as_f64(x).cpu().numpy().reshape(-1)


def check_tokens(token_logps: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Validate a (B, T) float / (B, T) bool pair; return (float64 values, bool mask)."""
    if token_logps.dim() != 2 or token_logps.shape != mask.shape:
        raise ValueError(
            f"token_logps and mask must both be (B, T); got {tuple(token_logps.shape)} and {tuple(mask.shape)}"
        )
    return token_logps.detach().to(torch.float64), mask.to(torch.bool)
