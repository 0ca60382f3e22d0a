"""Helpers for generated (right-padded) response sequences."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from dareu.rl.logprobs import masked_sum


def response_mask(
    response_ids: Tensor, eos_token_id: int | Sequence[int], pad_token_id: int | None
) -> Tensor:
    """Valid-token mask of generated responses: True up to and including the first EOS, False after.

    mask[b, t] = (no EOS in response_ids[b, :t]) and (token is not pad, or is the first EOS)
    Works when pad == eos. eos_token_id may be a list (several stop tokens).
    response_ids (B, T) -> (B, T) bool
    """
    eos = torch.as_tensor(eos_token_id, device=response_ids.device).reshape(-1)
    is_eos = torch.isin(response_ids, eos)  # (B, T)
    eos_before = is_eos.long().cumsum(1) - is_eos.long()  # (B, T) EOS count strictly before t
    mask = eos_before == 0
    if pad_token_id is not None:
        mask &= (response_ids != pad_token_id) | is_eos
    return mask


def last_valid_index(mask: Tensor) -> Tensor:
    """Index of the last True in each row of mask (B, T) -> (B,) long; -1 for an empty row."""
    idx = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)  # (B, T)
    return torch.where(mask.bool(), idx, -1).max(dim=1).values  # (B,)


def sequence_logprob(token_logps: Tensor, mask: Tensor) -> Tensor:
    """log p(sequence) = sum_t mask * logp_t;  (B, T) -> (B,)"""
    return masked_sum(token_logps, mask, dim=1)
