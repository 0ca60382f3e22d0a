"""Optimiser recipes shared by the training modules and the attributors that train a model."""

from __future__ import annotations

import lightning as L
import torch
from transformers import get_cosine_schedule_with_warmup


def warmup_cosine_adamw(module: L.LightningModule, lr: float, weight_decay: float,
                        warmup_ratio: float) -> dict:
    """AdamW over the module's trainable weights, linear warmup then cosine decay per step."""
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    total = max(1, int(module.trainer.estimated_stepping_batches))
    sched = get_cosine_schedule_with_warmup(opt, int(warmup_ratio * total), total)
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
