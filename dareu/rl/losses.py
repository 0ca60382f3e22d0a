"""PPO/GRPO surrogate losses and their reduction over tokens."""

from __future__ import annotations

import torch
from torch import Tensor

from dareu.rl.logprobs import masked_mean, masked_sum

AGGREGATE_MODES = ("dapo", "token_mean", "seq_mean")


def clipped_policy_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
    clip_eps_high: float | None = None,
) -> tuple[Tensor, Tensor]:
    """PPO clipped surrogate per token (DAPO "clip-higher" when clip_eps_high is set).

    rho = exp(logp - old_logp)
    L_t = -min(rho * A, clip(rho, 1 - eps, 1 + eps_high) * A)
    logp, old_logp, mask (B, T); advantages (B,) (broadcast over tokens) or (B, T).
    Returns per-token loss (B, T) (0 at padding) and the detached fraction of valid tokens
    where the clipped term is the active one.
    """
    m = mask.bool()
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages  # (B, 1) or (B, T)
    high = clip_eps if clip_eps_high is None else clip_eps_high
    ratio = torch.exp(logp - old_logp)  # (B, T)
    loss_unclipped = -adv * ratio
    loss_clipped = -adv * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + high)
    loss = torch.maximum(loss_unclipped, loss_clipped)  # (B, T)
    clip_fraction = masked_mean((loss_clipped > loss_unclipped).float(), m).detach()
    return torch.where(m, loss, torch.zeros((), dtype=loss.dtype, device=loss.device)), clip_fraction


def clipped_value_loss(
    values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, clip: float = 0.2
) -> Tensor:
    """PPO clipped value loss per token.

    v_c = old + clip(v - old, -c, c)
    L_t = 0.5 * max((v - R)^2, (v_c - R)^2)
    (B, T) -> (B, T), 0 at padding.
    """
    v_clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    loss = 0.5 * torch.maximum((values - returns) ** 2, (v_clipped - returns) ** 2)
    return torch.where(mask.bool(), loss, torch.zeros((), dtype=loss.dtype, device=loss.device))


def aggregate(
    per_token: Tensor, mask: Tensor, mode: str = "dapo", num_active_tokens: float | Tensor | None = None
) -> Tensor:
    """Reduce a per-token loss (B, T) to a scalar.

    dapo:       sum_{b,t} m L / N,  N = num_active_tokens, default max(mask.sum(), 1)
    token_mean: sum_{b,t} m L / sum m           (this batch only)
    seq_mean:   mean_b (sum_t m L / sum_t m)    (GRPO; empty rows count as 0)

    num_active_tokens: the divisor N for "dapo", so a caller can use the token count of the whole
    global batch. Pass it already scaled the way the trainer scales the loss: if gradients are
    averaged over W ranks and divided by K accumulation steps, pass N_global / (W * K).
    """
    if mode == "dapo":
        if num_active_tokens is None:
            return masked_mean(per_token, mask)  # sum / max(mask.sum(), 1)
        return masked_sum(per_token, mask) / num_active_tokens
    if mode == "token_mean":
        return masked_mean(per_token, mask)
    if mode == "seq_mean":
        return masked_mean(per_token, mask, dim=1).mean()
    raise ValueError(f"unknown aggregation mode {mode!r}; valid modes: {', '.join(AGGREGATE_MODES)}")
