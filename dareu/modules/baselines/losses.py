"""The baselines' losses as pure functions of log-probs (NPO, SimNPO, DPO as open-unlearning
writes them), so each is testable by hand.

Conventions: token log-probs and masks are (B, T) with the mask True on answer tokens; sequence
log-probs are (B,) sums over the answer; every loss returns a scalar averaged over the batch.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from dareu.rl import full_kl, masked_mean


def sequence_nll(token_logps: Tensor, mask: Tensor) -> Tensor:
    """Mean token NLL of each answer: −Σ_t m·logp_t / Σ_t m;  (B, T) -> (B,)"""
    return -masked_mean(token_logps, mask, dim=1)


def nll_loss(token_logps: Tensor, mask: Tensor) -> Tensor:
    """ℓ = mean over sequences of the mean token NLL (every answer weighs the same, whatever its length)."""
    return sequence_nll(token_logps, mask).mean()


def grad_ascent_loss(token_logps: Tensor, mask: Tensor) -> Tensor:
    """−ℓ: minimising it raises the NLL of the forget answers (unbounded below)."""
    return -nll_loss(token_logps, mask)


def npo_loss(policy_seq_logp: Tensor, ref_seq_logp: Tensor, beta: float) -> Tensor:
    """NPO: −(2/β) · mean log σ(−β (log π_θ(y|x) − log π_ref(y|x))), sequence-summed log-probs (B,).

    Equals (2/β) log 2 while the policy is the reference, and → 0 as π_θ(y|x) → 0: a bounded
    gradient ascent whose push fades once an answer is unlikely.
    """
    return -(2.0 / beta) * F.logsigmoid(-beta * (policy_seq_logp - ref_seq_logp)).mean()


def simnpo_loss(avg_nll: Tensor, beta: float, delta: float) -> Tensor:
    """SimNPO (reference-free): −(2/β) · mean log σ(β (NLL_sum/|y| − δ)), avg_nll = NLL_sum/|y| (B,).

    δ sits inside β as in open-unlearning's code; the paper writes
    −(2/β) log σ(−(β/|y|) log π_θ(y|x) − γ), the same loss with γ = β·δ (identical at δ = 0).
    """
    return -(2.0 / beta) * F.logsigmoid(beta * (avg_nll - delta)).mean()


def dpo_loss(policy_chosen: Tensor, ref_chosen: Tensor, policy_rejected: Tensor, ref_rejected: Tensor,
             beta: float) -> Tensor:
    """DPO as open-unlearning scales it:
    −(2/β) · mean log σ(β [(log π_θ − log π_ref)(chosen) − (log π_θ − log π_ref)(rejected)]).

    All four are sequence-summed log-probs (B,); IdkPO passes the "I don't know" answer as chosen and
    the forget answer as rejected. Equals (2/β) log 2 when both log-ratios are equal.
    """
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)  # (B,)
    return -(2.0 / beta) * F.logsigmoid(beta * margin).mean()


def kl_retain_loss(ref_logits: Tensor, policy_logits: Tensor, mask: Tensor) -> Tensor:
    """KL(reference ‖ policy) per answer token, averaged over masked tokens; logits (B, T, V), mask (B, T)."""
    return full_kl(ref_logits, policy_logits, mask)


__all__ = ["dpo_loss", "grad_ascent_loss", "kl_retain_loss", "nll_loss", "npo_loss", "sequence_nll",
           "simnpo_loss"]
