"""Teacher-forced finetuning of a causal LM on owner records: the target (all owners), the oracle
(retain owners) and the relearn attack, so it sits below eval/ (CONTRIBUTING.md, "Layers")."""

from __future__ import annotations

from typing import Callable

import lightning as L
import torch
from transformers import PreTrainedModel

from dareu.optim import warmup_cosine_adamw


class FinetuneModule(L.LightningModule):
    """Next-token loss on response tokens; AdamW with warmup + cosine decay."""

    def __init__(self, model: PreTrainedModel, lr: float, weight_decay: float = 0.0,
                 warmup_ratio: float = 0.05,
                 shard: Callable[[L.LightningModule], object] | None = None) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_ratio = lr, weight_decay, warmup_ratio
        self.shard = shard

    def configure_model(self) -> None:
        """Lightning's FSDP2 strategy (trainer.strategy=fsdp2) refuses a module without this hook.
        `shard` shards the model there (the prepare stage gives `dareu.sharding.configure_fsdp2`,
        which sits beside this file, not below it)."""
        from lightning.pytorch.strategies import ModelParallelStrategy

        if self.shard is not None:
            self.shard(self)
        elif isinstance(self.trainer.strategy, ModelParallelStrategy):
            # unsharded under this strategy, no rank would see the others' gradients
            raise RuntimeError("FinetuneModule under FSDP2 needs `shard`, e.g. "
                               "lambda m: dareu.sharding.configure_fsdp2(m, 'model', m.model)")

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.model(**batch).loss
        self.log("train_loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
        return loss

    def configure_optimizers(self):
        return warmup_cosine_adamw(self, self.lr, self.weight_decay, self.warmup_ratio)

