"""The classifier attributor's `transformer` expert: a Hugging Face sequence classifier over the
owners, trained by a Lightning Trainer.

A hub backbone (`backbone`; `mode` full, LoRA or 4-bit QLoRA) or a tiny GPT-2 / Llama built from
scratch with the run's tokenizer (classifier_model.py builds both and holds the Lightning module).
It learns the owners' exact wording. Saved as an HF model folder `model/` (safetensors), or a
LoRA adapter `adapter/`, each with its tokenizer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader

from attributors.base import AttributorContext, AttributorError
from attributors.classifier_config import ClassifierConfig
from attributors.classifier_model import (ClassifierModule, _apply_lora, _label_maps, _load_backbone,
                                          _tiny_classifier)
from attributors.expert import Expert

log = logging.getLogger("dareu")


class TransformerExpert(Expert):
    """logits(text) = the sequence classifier's head over the owners. Each fit builds a fresh
    model (seeded) and trains it; `tokenizer` is the backbone's, the run's or one trained on the
    corpus (`for_corpus`), or the saved one (`load`)."""

    def __init__(self, config: ClassifierConfig, owners: Sequence[str], context: AttributorContext,
                 tokenizer: Any = None) -> None:
        self.config, self.owners, self.context = config, list(owners), context
        self.tokenizer = tokenizer
        self.model: Any = None

    @classmethod
    def for_corpus(cls, config: ClassifierConfig, owners: Sequence[str], context: AttributorContext,
                   corpus) -> "TransformerExpert":
        return cls(config, owners, context, _tokenizer(config, context, corpus))

    @property
    def folder(self) -> str:
        return "model" if self.config.mode == "full" else "adapter"

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "TransformerExpert":
        L.seed_everything(self.context.seed, workers=True, verbose=False)
        self.model = self._build()
        self._train(texts, labels)
        return self

    def _build(self):
        cfg = self.config
        labels = _label_maps(self.owners)
        if cfg.backbone is None:
            return _tiny_classifier(cfg, self.tokenizer, labels, self.context.seed)
        model = _load_backbone(cfg, cfg.backbone, labels, self.context.device)
        model.config.pad_token_id = self.tokenizer.pad_token_id
        return _apply_lora(model, cfg) if cfg.mode != "full" else model

    def _train(self, texts: Sequence[str], labels: Sequence[int]) -> None:
        from dareu.config import TrainerConfig
        from dareu.sharding import is_sharded, unsharded
        from dareu.trainer import make_trainer

        cfg, ctx = self.config, self.context
        trainer_cfg = ctx.trainer_cfg or TrainerConfig(
            accelerator="cpu" if str(ctx.device) == "cpu" else "auto", devices=1,
            enable_progress_bar=False)
        extra: dict[str, Any] = {"max_epochs": cfg.epochs}
        if ctx.log_dir is None:
            extra["logger"] = False
        trainer = make_trainer(trainer_cfg, ctx.log_dir or ".", "attributor", **extra)
        module = ClassifierModule(self.model, cfg.learning_rate, cfg.weight_decay, cfg.warmup_ratio)
        log.info("training the classifier attributor on %d texts of %d owners for %d epochs",
                 len(texts), len(self.owners), cfg.epochs)
        trainer.fit(module, train_dataloaders=self._loader(texts, labels))
        if is_sharded(self.model):  # FSDP2: each rank scores on its own, and rank 0 saves
            self.model = unsharded(self.model, self._build)
        self.model.eval()

    def _loader(self, texts: Sequence[str], labels: Sequence[int]) -> DataLoader:
        ids = self._encode(list(texts))["input_ids"]
        rows = list(zip(ids, labels))
        pad = self.tokenizer.pad_token_id

        def collate(batch: list[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
            width = max(len(r) for r, _ in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, (r, _) in enumerate(batch):
                input_ids[i, :len(r)] = torch.tensor(r)
                mask[i, :len(r)] = 1
            return {"input_ids": input_ids, "attention_mask": mask,
                    "labels": torch.tensor([y for _, y in batch])}

        return DataLoader(rows, batch_size=self.config.batch_size, shuffle=True,
                          collate_fn=collate,
                          generator=torch.Generator().manual_seed(self.context.seed))

    def _encode(self, texts: list[str], **kw: Any) -> dict:
        return self.tokenizer(texts, truncation=True, max_length=self.config.max_length,
                              return_token_type_ids=False, **kw)

    # -- logits ---------------------------------------------------------------------------------
    @torch.no_grad()
    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        step = self.config.score_batch_size
        rows = []
        for i in range(0, len(texts), step):
            batch = self._encode(list(texts[i:i + step]), padding=True, return_tensors="pt")
            rows.append(self.model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu())
        return torch.cat(rows) if rows else torch.zeros(0, len(self.owners))        # (N, K)

    def to(self, device: str | torch.device) -> "TransformerExpert":
        if self.model is not None and not getattr(self.model, "is_loaded_in_4bit", False):
            self.model.to(device)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)

    def load(self, folder: Path) -> "TransformerExpert":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from dareu.models import ensure_pad_token

        cfg = self.config
        if cfg.mode == "full":
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), use_safetensors=True)
        else:
            from peft import PeftModel

            base = _load_backbone(cfg, cfg.backbone, _label_maps(self.owners), self.context.device)
            self.model = PeftModel.from_pretrained(base, str(folder))
            if cfg.mode == "lora":
                self.model = self.model.merge_and_unload()  # plain model: faster scoring
        self.tokenizer = ensure_pad_token(AutoTokenizer.from_pretrained(str(folder)))
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.eval()
        return self


def _tokenizer(cfg: ClassifierConfig, ctx: AttributorContext, corpus):
    """The backbone's tokenizer; else the run's; else one trained on the corpus's texts."""
    from transformers import AutoTokenizer

    from dareu.models import ensure_pad_token, train_tokenizer

    if cfg.backbone is not None:
        try:
            return ensure_pad_token(AutoTokenizer.from_pretrained(cfg.backbone))
        except (OSError, ValueError) as e:
            raise AttributorError(f"attributor.options.backbone={cfg.backbone!r}: cannot "
                                  f"load its tokenizer ({str(e).splitlines()[0]}).") from None
    if ctx.tokenizer is not None:
        return ctx.tokenizer
    return train_tokenizer(corpus.all_texts(), vocab_size=2048)
