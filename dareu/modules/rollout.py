"""What one DareU step carries from sampling to the updates: the rollout (responses, rewards,
log-probs, advantages) and the retain-side distillation batches, row-aligned tensors each; and the
module's plumbing its helpers (fluency guard, retain distillation, let-go) borrow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import Tensor, nn

Logits = Callable[[nn.Module, Tensor, Tensor, int], tuple[Tensor, Any]]
"""(net, ids, attention mask, n) -> what the head takes for the last n tokens (B, n, F: logits, or
the body's last hidden states), and anything; positions numbered as `generate` numbered them."""
RankMean = Callable[[Tensor], Tensor]
"""A tensor averaged over the data-parallel ranks (itself on one)."""


@dataclass
class Rollout:
    """Sampled responses of one step and everything the updates need, row-aligned (N rows)."""

    sequences: Tensor  # (N, T) prompt (left-padded) + response (right-padded), T = Tp + R
    attention_mask: Tensor  # (N, T) 1 on prompt tokens and valid response tokens
    mask: Tensor  # (N, R) bool: valid response tokens, through the first EOS
    rewards: Tensor  # (N,)
    forget_mass: Tensor  # (N,)
    ref_logp: Tensor | None  # (N, R) reference log-probs of the sampled tokens (set in the rollout)
    old_logp: Tensor | None = None  # (N, R) behaviour policy; None until known
    old_values: Tensor | None = None  # (N, R) ppo only
    advantages: Tensor | None = None  # (N,) grpo / rloo, (N, R) ppo
    returns: Tensor | None = None  # (N, R) ppo only
    penalty: Tensor | None = None  # (N,) degenerate-text penalty in [0, 1] (dareu.rl.fluency)
    group_size: int = 1  # rows come in blocks of this many responses to one prompt (1: unknown)
    greedy_cost: Tensor | None = None  # (P,) forget mass + charges of each prompt's greedy answer

    @property
    def responses(self) -> Tensor:
        return self.sequences[:, -self.mask.shape[1]:]  # (N, R)


@dataclass
class DistillBatch:
    """Retain-side sequences for KL(reference ‖ policy) and what the reference's head takes at the
    counted tokens (computed once per step): last hidden states, or logits for an unsplit model."""

    input_ids: Tensor  # (B, T)
    attention_mask: Tensor  # (B, T)
    mask: Tensor  # (B, T-1) bool: tokens 1..T-1 that count (answer tokens)
    ref_features: Tensor  # (M, F), M = mask.sum(): F = H (hidden states) or V (logits)
