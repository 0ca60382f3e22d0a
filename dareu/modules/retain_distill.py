"""DareU's utility guard: λ·KL(reference ‖ policy) on teacher-forced retain-owner records.

Each step takes a seeded batch of retain records, computes what the reference's head takes at the
counted answer tokens once (no grad), and then, at every update, the exact KL over the vocabulary
between the reference and the policy on those tokens (`dareu.rl.head.head_full_kl`).

The forwards are the module's `LMForward`: the guard must number positions exactly as `generate`
did and enter a sharded model through its root under FSDP2.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from dareu.config import Config
from dareu.data.formatting import IGNORE, pad_batch
from dareu.data.streams import SeededCycle
from dareu.modules.lm_forward import LMForward
from dareu.modules.rollout import DistillBatch, RankMean
from dareu.rl.head import head_full_kl


class RetainDistill:
    """The retain-side KL of one DareU run; `start` it with the run's rank before the first step."""

    def __init__(self, cfg: Config, policy, rows: Sequence[dict], lm: LMForward) -> None:
        """`rows`: encoded retain records (`input_ids`, `labels`); `lm`: the module's forwards (its
        split may change under FSDP2, so it is read at each call)."""
        self.cfg, self.policy, self.rows = cfg, policy, list(rows)
        self.lm = lm
        self.stream: SeededCycle | None = None

    @property
    def active(self) -> bool:
        return self.cfg.unlearn.retain.weight > 0

    def start(self, rank: int, world: int) -> None:
        """Seeded retain batches of this rank (a stream of its own: seed + 1)."""
        u = self.cfg.unlearn
        self.stream = SeededCycle(self.rows, u.retain.batch_size, u.seed + 1, rank, world)

    @torch.no_grad()
    def batches(self, step: int, device: torch.device) -> list[DistillBatch]:
        """The step's retain records, teacher-forced."""
        tok = self.policy.tokenizer
        rows = self.stream.batch(step)
        b = pad_batch([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows],
                      tok.pad_token_id)
        ids, att = b["input_ids"].to(device), b["attention_mask"].to(device)  # (B, T)
        out = [self._batch(ids, att, (b["labels"][:, 1:] != IGNORE).to(device))]
        return out

    def _batch(self, ids: Tensor, att: Tensor, mask: Tensor) -> DistillBatch:
        with self.policy.reference() as ref:
            feats, _ = self.lm.features(self.lm.split(ref)[0], ids, att, ids.shape[1] - 1)  # (B, T-1, F)
        return DistillBatch(ids, att, mask, feats[mask])  # the counted tokens only: (M, F)

    def kl(self, d: DistillBatch, rank_mean: RankMean) -> Tensor:
        """KL(reference ‖ policy), exact over the vocabulary, averaged over the retain tokens of
        the global batch: under DDP (gradients averaged over ranks) divided by the ranks' mean
        count. The reference's head is used outside its context: the split holds only when the
        head has no adapter."""
        body, head = self.lm.split(self.policy.model)
        feats, _ = self.lm.features(body, d.input_ids, d.attention_mask, d.input_ids.shape[1] - 1)
        ref = self.policy.frozen_reference
        ref_head = self.lm.split(ref if ref is not None else self.policy.model)[1]
        kl = head_full_kl(d.ref_features, ref_head, feats[d.mask], head,
                          self.lm.temperature, self.lm.chunk)  # (M,)
        return kl.sum() / rank_mean(d.mask.sum().float()).clamp(min=1)
