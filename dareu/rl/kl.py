"""KL divergences between a policy and a reference: per-token estimators and the exact value."""

from __future__ import annotations

import torch
from torch import Tensor

from dareu.rl.logprobs import _rowwise_f32, masked_mean

KL_KINDS = ("k1", "k2", "k3")


def kl_estimate(logp: Tensor, ref_logp: Tensor, kind: str = "k3") -> Tensor:
    """Per-token Monte Carlo estimate of KL(pi || ref) from sampled-token log-probs (Schulman's k1/k2/k3).

    k1 = logp - ref                       (unbiased, high variance, can be < 0)
    k2 = 0.5 * (logp - ref)^2             (biased, low variance, >= 0)
    k3 = exp(ref - logp) - (ref - logp) - 1  (unbiased, low variance, >= 0)
    logp, ref_logp (B, T) -> (B, T)
    """
    d = logp - ref_logp  # (B, T)
    if kind == "k1":
        return d
    if kind == "k2":
        return 0.5 * d**2
    if kind == "k3":
        return torch.expm1(-d) + d  # exp(-d) - (-d) - 1, accurate near d = 0
    raise ValueError(f"unknown KL estimator kind {kind!r}; valid kinds: {', '.join(KL_KINDS)}")


def token_full_kl(logits_p: Tensor, logits_q: Tensor, temperature: float = 1.0) -> Tensor:
    """Exact KL(p || q) over the vocabulary at every position, in float32.

    KL[b, t] = sum_v p_v (log p_v - log q_v),  p = softmax(logits_p / T), q = softmax(logits_q / T)
    logits_p, logits_q (B, T, V) -> (B, T)
    """

    def f(zp: Tensor, zq: Tensor) -> Tensor:
        zq = zq.float()
        if temperature != 1.0:
            zp, zq = zp / temperature, zq / temperature
        lp = torch.log_softmax(zp, dim=-1)  # (B, T, V)
        lq = torch.log_softmax(zq, dim=-1)  # (B, T, V)
        return (lp.exp() * (lp - lq)).sum(-1)  # (B, T)

    return _rowwise_f32(f, logits_p, logits_q)


def full_kl(logits_p: Tensor, logits_q: Tensor, mask: Tensor, temperature: float = 1.0) -> Tensor:
    """Exact token-level KL(p || q) averaged over masked tokens (scalar).

    For retain-set distillation pass p = reference (no grad), q = policy: KL(reference || policy).
    """
    return masked_mean(token_full_kl(logits_p, logits_q, temperature), mask)
