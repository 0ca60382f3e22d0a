"""Memorisation metrics on teacher-forced greedy predictions."""

from __future__ import annotations

import torch
from torch import Tensor


def extraction_strength(pred_ids: Tensor, target_ids: Tensor, mask: Tensor) -> Tensor:
    """Extraction strength per item, (B, T) x3 -> (B,) float64.

    pred_ids[b, t] is the argmax prediction for target position t (teacher forced, already
    aligned with target_ids); mask marks the T_b answer tokens, without the EOS that ends the
    answer (open-unlearning drops it; `ResponseScores.answer_mask`). ES = 1 - k / T_b where k is the
    smallest answer index such that the predictions match the target on every answer token from
    k to the end, and k = T_b when the last answer token mismatches. Equivalently
    ES = (length of the trailing run of matching answer tokens) / T_b:
    perfect match -> 1.0, last token wrong -> 0.0. Rows with no answer token -> NaN.

    Note: open-unlearning's loop leaves k = T_b - 1 when no suffix matches, i.e. it reports
    1 / T_b instead of 0 for a wrong last token; this follows the definition above instead.
    """
    if not (pred_ids.shape == target_ids.shape == mask.shape) or pred_ids.dim() != 2:
        raise ValueError(
            f"pred_ids, target_ids and mask must all be (B, T); got "
            f"{tuple(pred_ids.shape)}, {tuple(target_ids.shape)}, {tuple(mask.shape)}"
        )
    m = mask.to(torch.bool)
    pos = torch.arange(m.shape[1], device=m.device).expand_as(m)  # (B, T)
    mismatch = m & (pred_ids != target_ids)
    last_mismatch = torch.where(mismatch, pos, torch.full_like(pos, -1)).max(dim=1).values  # (B,), -1 if none
    trailing = (m & (pos > last_mismatch[:, None])).sum(dim=1)  # answer tokens after the last mismatch
    n = m.sum(dim=1)
    return trailing.to(torch.float64) / n.to(torch.float64)  # 0/0 -> NaN for empty rows
