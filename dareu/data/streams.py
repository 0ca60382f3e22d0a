"""Endless, seeded batches whose content is a pure function of (seed, batch index, rank).

RL steps draw prompts (and retain records) from small lists many times over. Making batch k a
function of k alone means a run resumed at step k sees exactly the batches an uninterrupted run
would, with no sampler state to save; ranks take disjoint slices of one global batch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Generic, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")


class SeededCycle(Generic[T]):
    """Items in a fresh seeded permutation per pass, concatenated forever, cut into batches.

    Global batch k holds positions [k·B·W, (k+1)·B·W) of that endless sequence (B = batch_size,
    W = world_size); rank r takes the r-th slice of B. Every item appears once per pass.

    >>> SeededCycle("abcd", batch_size=2, seed=0).batch(0) != SeededCycle("abcd", 2, seed=1).batch(0)
    True
    """

    def __init__(self, items: Sequence[T], batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1) -> None:
        if not items:
            raise ValueError("SeededCycle needs at least one item")
        self.items, self.batch_size, self.seed = list(items), batch_size, seed
        self.rank, self.world_size = rank, world_size

    @lru_cache(maxsize=4)
    def _permutation(self, n_pass: int) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + n_pass)
        return torch.randperm(len(self.items), generator=g).tolist()

    def batch(self, k: int) -> list[T]:
        n, b = len(self.items), self.batch_size
        start = (k * self.world_size + self.rank) * b
        return [self.items[self._permutation(p // n)[p % n]] for p in range(start, start + b)]

    def stream(self, start: int = 0) -> Iterator[list[T]]:
        k = start
        while True:
            yield self.batch(k)
            k += 1


class BatchStream:
    """An endless iterable of `cycle` batches from batch `start` on: a Lightning train dataloader.

    Lightning accepts any iterable; this one restarts at `start` each time it is iterated, so a
    resumed fit continues where the checkpoint stopped.
    """

    def __init__(self, cycle: SeededCycle, start: int = 0) -> None:
        self.cycle, self.start = cycle, start

    def __iter__(self) -> Iterator[list]:
        return self.cycle.stream(self.start)
