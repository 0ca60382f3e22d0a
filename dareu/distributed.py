"""Which process this is under a multi-process strategy: rank 0 writes, every rank waits for it."""

from __future__ import annotations

from typing import Any

import torch


def is_rank_zero() -> bool:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() \
        and torch.distributed.get_world_size() > 1


def barrier() -> None:
    """Wait for every rank (a no-op in a single process, or before the first DDP fit)."""
    if _distributed():
        torch.distributed.barrier()


def from_rank_zero(value: Any) -> Any:
    """Rank 0's `value` on every rank (e.g. a resume decision); the value itself in one process."""
    if not _distributed():
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]
