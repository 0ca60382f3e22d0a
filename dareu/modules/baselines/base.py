"""`LossUnlearnMethod`: what every loss-based baseline shares, so a baseline is one `loss` method.

Each step draws a forget batch and a retain batch (cycled independently, seeded shuffling), scores
them teacher-forced under the policy (and, for the roles a method names, under the reference in a
no-grad pass), and minimises `loss(outputs)` with Lightning's automatic optimisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch
from lightning.pytorch.utilities import CombinedLoader
from torch import Tensor

from dareu.config.unlearn import MAX_GRAD_NORM
from dareu.data.corpus import Record
from dareu.data.formatting import IGNORE
from dareu.errors import DataError
from dareu.modules.baselines.data import Item, role_loader
from dareu.modules.baselines.losses import nll_loss, sequence_nll
from dareu.modules.registry import UnlearnMethod
from dareu.rl import sequence_logprob, token_logprobs
from dareu.sharding import configure_fsdp2

if TYPE_CHECKING:
    from dareu.config import Config, UnlearnConfig
    from dareu.modules.policy import Policy


@dataclass
class Scored:
    """One role's batch (forget / idk / retain) scored teacher-forced on its answer tokens."""

    batch: dict[str, Tensor]  # input_ids, attention_mask, labels: (B, T)
    logps: Tensor  # (B, T-1) policy log-prob of each next token
    mask: Tensor  # (B, T-1) True on answer tokens
    logits: Tensor  # (B, T-1, V) policy logits aligned with logps (kept alive by autograd anyway)
    ref_logps: Tensor | None = None  # (B, T-1) reference log-probs, no grad; only for `reference_on`

    def nll(self) -> Tensor:
        """Mean token NLL of each answer (B,)."""
        return sequence_nll(self.logps, self.mask)

    def seq_logp(self) -> Tensor:
        """log π_θ(y|x), summed over the answer (B,)."""
        return sequence_logprob(self.logps, self.mask)

    def ref_seq_logp(self) -> Tensor:
        """log π_ref(y|x), summed over the answer (B,)."""
        if self.ref_logps is None:
            raise RuntimeError("reference log-probs were not computed: add the role to `reference_on`")
        return sequence_logprob(self.ref_logps, self.mask)


class LossUnlearnMethod(UnlearnMethod):
    """Base of the loss-based baselines: subclasses implement `loss(outputs) -> scalar Tensor`."""

    reference_on: tuple[str, ...] = ()
    """Roles whose reference log-probs the loss needs (one extra no-grad forward each)."""
    uses_retain: bool = True
    """False: the retain batch is scored without grad, only to log `retain_nll`."""

    def __init__(self, policy: "Policy", forget: Sequence[Record], retain: Sequence[Record],
                 cfg: "Config") -> None:
        super().__init__(policy, forget, retain, cfg)
        self.hp = self.cfg.unlearn.baselines  # β, δ, α, batch sizes: `unlearn.baselines`

    @classmethod
    def steps_in(cls, u: "UnlearnConfig") -> int:
        """`unlearn.baselines.steps`; null: `unlearn.steps`, as DareU."""
        return u.steps if u.baselines.steps is None else u.baselines.steps

    # -- the one thing a baseline defines --------------------------------------------------------
    def loss(self, outputs: dict[str, Scored]) -> Tensor:
        raise NotImplementedError

    # -- data ------------------------------------------------------------------------------------
    def forget_items(self) -> list[Item]:
        return [{"forget": self.encode(r)} for r in self.forget]

    def retain_items(self) -> list[Item]:
        return [{"retain": self.encode(r)} for r in self.retain]

    def train_dataloader(self) -> CombinedLoader:
        forget, retain = self.forget_items(), self.retain_items()
        if not forget or not retain:
            raise DataError(f"{self.method_name} needs forget and retain records; the corpus has "
                            f"{len(forget)} forget and {len(retain)} retain records.")
        pad, seed = self.policy.tokenizer.pad_token_id, self.cfg.unlearn.seed
        # different seeds: the two streams shuffle independently; max_size_cycle restarts the
        # shorter one, so every step sees both (the trainer stops at max_steps)
        return CombinedLoader({"forget": role_loader(forget, pad, self.hp.forget_batch_size, seed),
                               "retain": role_loader(retain, pad, self.hp.retain_batch_size, seed + 1)},
                              mode="max_size_cycle")

    # -- step ------------------------------------------------------------------------------------
    def score(self, batch: dict[str, Tensor], reference: bool) -> Scored:
        ids, att = batch["input_ids"], batch["attention_mask"]  # (B, T)
        logits = self.policy(ids, att)[:, :-1]  # (B, T-1, V): position t predicts token t+1
        logps = token_logprobs(logits, ids[:, 1:])  # (B, T-1)
        mask = batch["labels"][:, 1:] != IGNORE  # (B, T-1): answer tokens only
        ref = self.policy.token_logprobs(ids, att, reference=True) if reference else None
        return Scored(batch, logps, mask, logits, ref)

    def _common_step(self, batch: dict[str, dict[str, dict[str, Tensor]]]) -> dict[str, Scored]:
        roles = {**batch["forget"], **batch["retain"]}  # forget (+ idk) and retain batches
        out = {}
        for role, b in roles.items():
            with torch.set_grad_enabled(self.uses_retain or role != "retain"):
                out[role] = self.score(b, reference=role in self.reference_on)
        return out

    def training_step(self, batch, batch_idx: int) -> Tensor:
        out = self._common_step(batch)
        loss = self.loss(out)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{self.method_name}: non-finite loss {loss.item()} at step "
                                     f"{self.global_step}; lower unlearn.lr or the number of steps.")
        n = out["forget"].logps.shape[0]
        self.log("train_loss", loss.detach(), prog_bar=True, batch_size=n)
        self.log("forget_nll", out["forget"].nll().mean().detach(), prog_bar=True, batch_size=n)
        self.log("retain_nll", out["retain"].nll().mean().detach(), batch_size=n)
        return loss

    # -- helpers for subclasses --------------------------------------------------------------------
    def retain_term(self, outputs: dict[str, Scored]) -> Tensor:
        """α · ℓ(retain): the utility guard most baselines add."""
        r = outputs["retain"]
        return self.hp.retain_weight * nll_loss(r.logps, r.mask)

    def reference_logits(self, scored: Scored) -> Tensor:
        """The reference's logits on a scored batch, no grad: (B, T-1, V)."""
        b = scored.batch
        with self.policy.reference() as ref:
            return ref(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1]

    # -- optimisation ----------------------------------------------------------------------------
    def configure_model(self) -> None:
        # FSDP2 (trainer.strategy=fsdp2): the policy and its frozen reference (full mode), as DareU
        configure_fsdp2(self, self.method_name, self.policy.model, self.policy.frozen_reference)

    def configure_optimizers(self):
        u, hp = self.cfg.unlearn, self.hp
        return torch.optim.AdamW(self.policy.trainable_parameters(), lr=hp.lr or u.lr,
                                 weight_decay=hp.weight_decay)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None,
                                    gradient_clip_algorithm=None) -> None:
        # ascent-style losses are unbounded below: clip at MAX_GRAD_NORM unless the trainer sets
        # its own value
        val = MAX_GRAD_NORM if gradient_clip_val is None else gradient_clip_val
        if val:
            self.clip_gradients(optimizer, gradient_clip_val=val,
                                gradient_clip_algorithm=gradient_clip_algorithm or "norm")
