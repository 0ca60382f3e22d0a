"""Teacher-forced finetuning of a causal LM on owner records (target: all owners; oracle: retain)."""

from __future__ import annotations

import lightning as L
import torch
from transformers import PreTrainedModel, get_cosine_schedule_with_warmup


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


def warmup_cosine_adamw(module: L.LightningModule, lr: float, weight_decay: float,
                        warmup_ratio: float) -> dict:
    """AdamW over the module's trainable weights, linear warmup then cosine decay per step."""
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    total = max(1, int(module.trainer.estimated_stepping_batches))
    sched = get_cosine_schedule_with_warmup(opt, int(warmup_ratio * total), total)
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
