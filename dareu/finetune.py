"""Teacher-forced finetuning of a causal LM on owner records: the target (all owners), the oracle
(retain owners) and the relearn attack, so it sits below eval/ (CONTRIBUTING.md, "Layers")."""

from __future__ import annotations

import lightning as L
import torch
from transformers import PreTrainedModel

from dareu.optim import warmup_cosine_adamw


class FinetuneModule(L.LightningModule):
    """Next-token loss on response tokens; AdamW with warmup + cosine decay."""

    def __init__(self, model: PreTrainedModel, lr: float, weight_decay: float = 0.0,
                 warmup_ratio: float = 0.05) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_ratio = lr, weight_decay, warmup_ratio

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.model(**batch).loss
        self.log("train_loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
        return loss

    def configure_optimizers(self):
        return warmup_cosine_adamw(self, self.lr, self.weight_decay, self.warmup_ratio)

