"""Forget / retain batches for the loss-based baselines.

An item maps roles to one encoded prompt/answer pair each (`{"forget": row}`, or IdkPO's
`{"forget": row, "idk": row}` on the same prompt); a batch pads every role separately, so paired
answers stay paired however the loader shuffles.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import DataLoader

from dareu.data.formatting import pad_batch

Item = dict[str, dict[str, list[int]]]  # role -> {input_ids, labels}


def role_loader(items: Sequence[Item], pad_id: int, batch_size: int, seed: int) -> DataLoader:
    """Seeded shuffling; yields {role: {input_ids, attention_mask, labels}} with tensors (B, T_role)."""
    if not items:
        raise ValueError("role_loader needs at least one item")

    def collate(rows: list[Item]) -> dict[str, dict[str, torch.Tensor]]:
        return {role: pad_batch([r[role] for r in rows], pad_id) for role in rows[0]}

    return DataLoader(list(items), batch_size=batch_size, shuffle=True, collate_fn=collate,
                      generator=torch.Generator().manual_seed(seed))
