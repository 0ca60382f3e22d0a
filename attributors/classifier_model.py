"""The `transformer` expert's sequence classifier: how it is built and how it is trained.

Builders of the Hugging Face model (a tiny GPT-2 / Llama from scratch, or a hub backbone, full or
wrapped in LoRA / 4-bit QLoRA) and the Lightning module that trains it, kept apart from the expert
(transformer_expert.py), which decides when to build, train, save and load it.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from attributors.base import AttributorError
from attributors.classifier_config import ClassifierConfig


class ClassifierModule(L.LightningModule):
    """Cross-entropy over owners; AdamW with warmup + cosine decay."""

    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float,
                 warmup_ratio: float) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_ratio = lr, weight_decay, warmup_ratio

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        labels = batch.pop("labels")
        logits = self.model(**batch).logits.float()                  # (B, K)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        acc = (logits.argmax(-1) == labels).float().mean()
        n = labels.shape[0]
        self.log("train_loss", loss, prog_bar=True, batch_size=n)
        self.log("train_acc", acc, prog_bar=True, batch_size=n)
        return loss

    def configure_model(self) -> None:
        # FSDP2 (trainer.strategy=fsdp2) needs this hook; the attributor unshards after the fit
        from dareu.sharding import configure_fsdp2

        configure_fsdp2(self, "the classifier attributor", self.model)

    def configure_optimizers(self):
        from dareu.optim import warmup_cosine_adamw

        return warmup_cosine_adamw(self, self.lr, self.weight_decay, self.warmup_ratio)


def _label_maps(owners: list[str]) -> dict[str, Any]:
    """HF config fields that name the classes: the saved model says which column is which owner."""
    return dict(num_labels=len(owners), id2label=dict(enumerate(owners)),
                label2id={o: i for i, o in enumerate(owners)})


def _tiny_classifier(cfg: ClassifierConfig, tokenizer, labels: dict, seed: int):
    """A randomly initialised GPT-2 / Llama sequence classifier sized by the config (seeded)."""
    from transformers import (GPT2Config, GPT2ForSequenceClassification, LlamaConfig,
                              LlamaForSequenceClassification)

    torch.manual_seed(seed)
    ids = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
               bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **labels)
    if cfg.arch == "gpt2":
        return GPT2ForSequenceClassification(GPT2Config(
            n_layer=cfg.n_layer, n_embd=cfg.n_embd, n_head=cfg.n_head, n_positions=cfg.max_length,
            resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, **ids))
    return LlamaForSequenceClassification(LlamaConfig(
        hidden_size=cfg.n_embd, intermediate_size=cfg.n_embd * 2, num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_head,
        max_position_embeddings=cfg.max_length, attention_dropout=cfg.dropout, **ids))


def _load_backbone(cfg: ClassifierConfig, path: str, labels: dict, device: str):
    from transformers import AutoModelForSequenceClassification

    from dareu.models import DTYPES, from_pretrained_4bit

    kw: dict[str, Any] = dict(use_safetensors=True, **labels)
    try:
        if cfg.mode == "qlora":
            return from_pretrained_4bit(AutoModelForSequenceClassification, path, cfg.dtype,
                                        device, **kw)
        return AutoModelForSequenceClassification.from_pretrained(path, dtype=DTYPES[cfg.dtype], **kw)
    except (OSError, ValueError) as e:
        raise AttributorError(f"attributor.options.backbone={path!r}: cannot load a sequence "
                              f"classifier from it ({str(e).splitlines()[0]}).") from None


def _apply_lora(model, cfg: ClassifierConfig):
    """Wrap in LoRA; peft keeps the new classification head (`score` / `classifier`) trainable."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.mode == "qlora":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear",
                      task_type="SEQ_CLS", fan_in_fan_out=model.config.model_type == "gpt2")
    return get_peft_model(model, lcfg)
