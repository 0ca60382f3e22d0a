"""Advantages: group-relative (GRPO, RLOO) for sequence rewards, GAE for per-token PPO."""

from __future__ import annotations

import torch
from torch import Tensor

from dareu.rl.kl import kl_estimate
from dareu.rl.sequence import last_valid_index

GROUP_SCALES = ("std", "none")


def _groups(rewards: Tensor, group_size: int) -> Tensor:
    if rewards.dim() != 1 or group_size < 1 or rewards.shape[0] % group_size:
        raise ValueError(
            f"rewards must be 1-D with a length divisible by group_size; "
            f"got shape {tuple(rewards.shape)} and group_size {group_size}"
        )
    return rewards.view(-1, group_size)  # (N/G, G)


def group_advantages(rewards: Tensor, group_size: int, scale: str = "std", eps: float = 1e-4) -> Tensor:
    """GRPO advantages: rewards (N,) are consecutive groups of G completions of one prompt.

    A_i = (r_i - mean_g) / (std_g + eps)   (scale="std", unbiased std as TRL)
    A_i =  r_i - mean_g                    (scale="none", Dr. GRPO)
    -> (N,)
    """
    if scale not in GROUP_SCALES:
        raise ValueError(f"unknown advantage scale {scale!r}; valid scales: {', '.join(GROUP_SCALES)}")
    if scale == "std" and group_size < 2:
        raise ValueError("scale='std' needs group_size >= 2 (the std of one reward is undefined)")
    r = _groups(rewards, group_size)  # (N/G, G)
    adv = r - r.mean(dim=1, keepdim=True)
    if scale == "std":
        adv = adv / (r.std(dim=1, unbiased=True, keepdim=True) + eps)
    return adv.reshape(-1)  # (N,)


def rloo_advantages(rewards: Tensor, group_size: int) -> Tensor:
    """REINFORCE leave-one-out: A_i = r_i - mean_{j != i} r_j = G/(G-1) * (r_i - mean_g);  (N,) -> (N,)"""
    if group_size < 2:
        raise ValueError("rloo_advantages needs group_size >= 2")
    r = _groups(rewards, group_size)  # (N/G, G)
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)  # (N/G, G)
    return (r - others).reshape(-1)


@torch.no_grad()
def gae(
    rewards: Tensor, values: Tensor, mask: Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation over right-padded token sequences.

    delta_t = r_t + gamma * V_{t+1} - V_t        (V after the last valid token = 0: terminal)
    A_t     = delta_t + gamma * lam * A_{t+1}
    R_t     = A_t + V_t
    rewards, values, mask (B, T) -> advantages, returns (B, T), both 0 at padded positions.
    Runs under no_grad: advantages and returns are targets, never differentiated.
    """
    m = mask.bool()
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    r = torch.where(m, rewards, zero)  # (B, T)
    v = torch.where(m, values, zero)  # (B, T)
    T = r.shape[1]
    adv = torch.zeros_like(v)
    last = torch.zeros_like(v[:, 0])  # (B,) A_{t+1}
    for t in reversed(range(T)):
        next_v = v[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = r[:, t] + gamma * next_v - v[:, t]
        last = torch.where(m[:, t], delta + gamma * lam * last, zero)
        adv[:, t] = last
    returns = torch.where(m, adv + v, zero)
    return adv, returns


def kl_shaped_rewards(
    seq_rewards: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float, kind: str = "k1"
) -> Tensor:
    """Per-token PPO rewards (RLHF style): a KL penalty on every token, the sequence reward on the last.

    r_t = -beta * (logp_t - ref_t) + [t = last valid token] * R_seq     (kind="k1"; see kl_estimate)
    seq_rewards (B,), logp, ref_logp, mask (B, T) -> (B, T), 0 at padded positions.
    Pass detached log-probs: rewards are constants to the optimiser.
    """
    m = mask.bool()
    kl = kl_estimate(logp, ref_logp, kind)  # (B, T)
    r = torch.where(m, -beta * kl, torch.zeros((), dtype=kl.dtype, device=kl.device))
    last = last_valid_index(m)  # (B,)
    bonus = torch.where(last >= 0, seq_rewards.to(r.dtype), 0.0)  # (B,) empty rows get nothing
    return r.scatter_add(1, last.clamp(min=0).unsqueeze(1), bonus.unsqueeze(1))
