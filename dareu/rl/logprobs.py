"""Token log-probabilities, entropies and masked reductions over (B, T) tensors.

Everything that touches the vocabulary axis works in float32: bf16/fp16 logits are
upcast one row at a time, so a full float32 copy of (B, T, V) is never held.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

_HALF = (torch.float16, torch.bfloat16)


def _rowwise_f32(fn: Callable[..., Tensor], logits: Tensor, *rest: Tensor) -> Tensor:
    """Apply fn(logits[b:b+1].float(), *rest[b:b+1]) row by row if any input is half; at once otherwise."""
    if logits.dtype not in _HALF and all(r.dtype not in _HALF for r in rest):
        return fn(logits.float(), *rest)
    rows = [fn(logits[b : b + 1].float(), *(r[b : b + 1] for r in rest)) for b in range(logits.shape[0])]
    return torch.cat(rows, dim=0)


def token_logprobs(logits: Tensor, tokens: Tensor, temperature: float = 1.0) -> Tensor:
    """log p(tokens) under softmax(logits / temperature).

    logp[b, t] = z[b, t, tokens[b, t]] - logsumexp_v z[b, t, v],   z = logits / temperature

    logits (B, T, V) must already be aligned with tokens (B, T): see shift_for_causal_lm.
    tokens must be valid ids everywhere (use a mask, not -100, for padding).
    Returns float32 (B, T).
    """

    def f(z: Tensor, tok: Tensor) -> Tensor:
        if temperature != 1.0:
            z = z / temperature
        picked = z.gather(-1, tok.unsqueeze(-1)).squeeze(-1)  # (B, T)
        return picked - torch.logsumexp(z, dim=-1)  # (B, T)

    return _rowwise_f32(f, logits, tokens)


def shift_for_causal_lm(logits: Tensor, input_ids: Tensor) -> tuple[Tensor, Tensor]:
    """Align next-token logits with their targets: (logits[:, :-1], input_ids[:, 1:])."""
    return logits[:, :-1], input_ids[:, 1:]  # (B, T-1, V), (B, T-1)


def entropy_from_logits(logits: Tensor, temperature: float = 1.0) -> Tensor:
    """Entropy of softmax(logits / temperature) per token.

    H = -sum_v p_v log p_v = logsumexp(z) - sum_v p_v z_v
    Returns float32 (B, T).
    """

    def f(z: Tensor) -> Tensor:
        if temperature != 1.0:
            z = z / temperature
        logp = torch.log_softmax(z, dim=-1)  # (B, T, V)
        return -(logp.exp() * logp).sum(-1)  # (B, T)

    return _rowwise_f32(f, logits)


def masked_sum(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """sum of x where mask is True (mask is bool or 0/1; masked-out values, even nan/inf, are ignored)."""
    x = torch.where(mask.bool(), x, torch.zeros((), dtype=x.dtype, device=x.device))
    return x.sum() if dim is None else x.sum(dim)


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """sum(x * m) / sum(m); 0 (not nan) where the mask is empty."""
    m = mask.bool()
    count = m.sum() if dim is None else m.sum(dim)
    return masked_sum(x, m, dim) / count.clamp(min=1)


def masked_var(x: Tensor, mask: Tensor, unbiased: bool = True) -> Tensor:
    """Variance of the masked entries of x (scalar); unbiased uses the Bessel factor n / (n - 1)."""
    m = mask.bool()
    n = int(m.sum())
    if n == 0 or (unbiased and n == 1):
        raise ValueError(f"masked_var needs at least {2 if unbiased else 1} unmasked entries, got {n}")
    mean = masked_mean(x, m)
    var = masked_mean((x - mean) ** 2, m)
    return var * (n / (n - 1)) if unbiased else var


def masked_whiten(x: Tensor, mask: Tensor, shift_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """Normalise masked entries of x to zero mean, unit (unbiased) variance, as in TRL's PPO.

    w = (x - mean) / sqrt(var + eps);  w += mean  if not shift_mean.
    Masked-out positions are set to 0.
    """
    m = mask.bool()
    mean, var = masked_mean(x, m), masked_var(x, m)
    w = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        w = w + mean
    return torch.where(m, w, torch.zeros((), dtype=w.dtype, device=w.device))
