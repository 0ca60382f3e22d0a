"""The LLM-classifier attributor (the paper's): p(owner | text) from a sequence classifier.

A Hugging Face `AutoModelForSequenceClassification` over the owners — a hub backbone (full, LoRA
or 4-bit QLoRA) or a tiny GPT-2 / Llama built from scratch with the run's tokenizer — is trained by
a Lightning module on owner-labelled, alias-masked text: every owner's responses, paraphrases and,
optionally, the target model's own sampled answers to the owner's prompts (the distribution it will
score during RL). Scores are the softmax over owners: each row is non-negative and sums to one.

This file holds the attributor (fit, stacking of the experts, score, save / load); its options are
in classifier_config.py, the model builders and the Lightning module in classifier_model.py.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader

from attributors.base import Attributor, AttributorError, register_attributor
# the options and the model moved to files of their own; imported back so every name stays here
from attributors.classifier_config import FEATURES, MODES, ClassifierConfig  # noqa: F401
from attributors.classifier_model import (ClassifierModule, _apply_lora, _label_maps, _load_backbone,
                                          _tiny_classifier)
from attributors.evaluation import OwnerText, heldout_metrics, split_owner_texts, stacking_split
from dareu.data.corpus import OwnerCorpus

log = logging.getLogger("dareu")


@register_attributor("classifier")
class ClassifierAttributor(Attributor):
    """p(owner | masked text) from a sequence classifier; rows are softmax probabilities (sum 1).

    Fitted with `fit(corpus)` (alias-masked corpus), saved as an HF model folder (safetensors) in
    `<dir>/model` — or a LoRA adapter in `<dir>/adapter` — beside `attributor.json`.
    """

    Config = ClassifierConfig

    def __init__(self, config: ClassifierConfig | None = None, context=None) -> None:
        super().__init__(config, context)
        self.model: Any = None
        self.tokenizer: Any = None
        self.ngram: Any = None  # attributors.ngram.NgramModel (the `ngram` expert)
        self.neighbours: Any = None  # attributors.encoder.EncoderNeighbours (the `encoder` expert)
        self.weights: list[float] | None = None  # the experts' logit weights (stacking); None: 1 each
        self.report: dict[str, Any] = {}

    @property
    def uses_target(self) -> bool:
        return self.config.use_target_generations

    def fit_report(self) -> dict[str, Any]:
        return dict(self.report)

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, corpus: OwnerCorpus) -> "ClassifierAttributor":
        cfg, ctx = self.config, self.context
        self.owners = list(corpus.owners)
        L.seed_everything(ctx.seed, workers=True, verbose=False)
        train, heldout = split_owner_texts(corpus, cfg.holdout_fraction, cfg.use_paraphrases, ctx.seed)
        generations = self._target_generations(corpus) if cfg.use_target_generations else []
        t0 = time.time()
        texts = train + generations
        if "transformer" in cfg.experts:
            self.tokenizer = self._tokenizer(corpus)
        self.report = {}
        if len(cfg.experts) > 1 and cfg.stack_fraction > 0:
            self.weights = self._stack(texts)
            if self.weights is not None:
                self.report["expert_weights"] = dict(zip(cfg.experts, self.weights))
        self._fit_experts(texts)
        self.report.update({"train_texts": len(train), "train_generations": len(generations),
                            "fit_seconds": round(time.time() - t0, 1)})
        if heldout:
            probs = self.score([t.prompt for t in heldout], [t.text for t in heldout])
            self.report.update(heldout_metrics(probs, torch.tensor([t.label for t in heldout])))
        log.info("classifier attributor: %s", self.report)
        return self

    def _fit_experts(self, texts: list[OwnerText]) -> None:
        """Fit every expert of `features` on `texts` (what the attributor sees of them)."""
        cfg, ctx = self.config, self.context
        seen = self.texts([t.prompt for t in texts], [t.text for t in texts])
        labels = [t.label for t in texts]
        if "transformer" in cfg.experts:
            L.seed_everything(ctx.seed, workers=True, verbose=False)
            self.model = self._build_model()
            self._train(texts)
        if "ngram" in cfg.experts:
            from attributors.ngram import NgramModel

            self.ngram = NgramModel.build(seen, len(self.owners), cfg.ngram_n).fit(
                seen, labels, l2=cfg.ngram_l2)
        if "encoder" in cfg.experts:  # the encoder is loaded once; each fit replaces its text bank
            self.neighbours = (self.neighbours or self._neighbours().to(ctx.device)).fit(seen, labels)
        self.to(ctx.device)

    def _stack(self, texts: list[OwnerText]) -> list[float] | None:
        """Weights of the experts' logits, learnt on texts they were not fitted on (stacking).

        A `stack_fraction` of the texts (paraphrases when the corpus has them, as the held-out
        evaluation does; else responses) is set aside per owner; the experts are fitted on the
        rest, and non-negative weights w maximise the likelihood of softmax(Σ_e w_e · logits_e)
        on the set-aside texts. An overconfident expert that does not generalise on a corpus
        (the from-scratch transformer on TOFU) gets a small weight there, and a large one where
        it does (the synthetic quickstart)."""
        inner, val = stacking_split(texts, self.config.stack_fraction, self.context.seed)
        if not val:  # too few texts to set any aside: the logits count 1 each
            log.info("classifier attributor: no text to stack on; experts weighted 1 each")
            return None
        self._fit_experts(inner)
        with torch.no_grad():
            parts = self._expert_logits([t.prompt for t in val], [t.text for t in val])  # E × (n, K)
        labels = torch.tensor([t.label for t in val], dtype=torch.long)
        raw = torch.zeros(len(parts), requires_grad=True)
        opt = torch.optim.LBFGS([raw], max_iter=100)
        stacked = torch.stack(parts)                                                   # (E, n, K)

        def closure():
            opt.zero_grad()
            w = torch.nn.functional.softplus(raw)
            loss = torch.nn.functional.cross_entropy((w[:, None, None] * stacked).sum(0), labels)
            loss.backward()
            return loss

        opt.step(closure)
        return torch.nn.functional.softplus(raw).detach().tolist()

    def _expert_logits(self, prompts: Sequence[str], responses: Sequence[str]) -> list[torch.Tensor]:
        """Each fitted expert's (N, K) logits, in the order of `features`."""
        texts = self.texts(prompts, responses)
        out = []
        for name in self.config.experts:
            if name == "transformer":
                device = next(self.model.parameters()).device
                rows = []
                for i in range(0, len(texts), self.config.score_batch_size):
                    batch = self._encode(texts[i:i + self.config.score_batch_size], padding=True,
                                         return_tensors="pt")
                    rows.append(self.model(**{k: v.to(device) for k, v in batch.items()}
                                           ).logits.float().cpu())
                out.append(torch.cat(rows) if rows else torch.zeros(0, len(self.owners)))
            else:
                expert = self.ngram if name == "ngram" else self.neighbours
                out.append(expert(texts).float().cpu() if texts else torch.zeros(0, len(self.owners)))
        return out

    def _neighbours(self):
        from attributors.encoder import EncoderNeighbours

        cfg = self.config
        return EncoderNeighbours(cfg.encoder, len(self.owners), cfg.encoder_temperature,
                                 cfg.max_length, cfg.score_batch_size)

    def _tokenizer(self, corpus: OwnerCorpus):
        from transformers import AutoTokenizer

        from dareu.models import ensure_pad_token, train_tokenizer

        if self.config.backbone is not None:
            try:
                return ensure_pad_token(AutoTokenizer.from_pretrained(self.config.backbone))
            except (OSError, ValueError) as e:
                raise AttributorError(f"attributor.options.backbone={self.config.backbone!r}: cannot "
                                      f"load its tokenizer ({str(e).splitlines()[0]}).") from None
        if self.context.tokenizer is not None:
            return self.context.tokenizer
        return train_tokenizer(corpus.all_texts(), vocab_size=2048)

    def _build_model(self):
        cfg = self.config
        labels = _label_maps(self.owners)
        if cfg.backbone is None:
            return _tiny_classifier(cfg, self.tokenizer, labels, self.context.seed)
        model = _load_backbone(cfg, cfg.backbone, labels, self.context.device)
        model.config.pad_token_id = self.tokenizer.pad_token_id
        return _apply_lora(model, cfg) if cfg.mode != "full" else model

    def _train(self, texts: list[OwnerText]) -> None:
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
        loader = self._loader(texts, shuffle=True)
        log.info("training the classifier attributor on %d texts of %d owners for %d epochs",
                 len(texts), len(self.owners), cfg.epochs)
        trainer.fit(module, train_dataloaders=loader)
        if is_sharded(self.model):  # FSDP2: each rank scores on its own, and rank 0 saves
            self.model = unsharded(self.model, self._build_model)
        self.model.eval()

    def _loader(self, texts: list[OwnerText], shuffle: bool) -> DataLoader:
        prompts, bodies = [t.prompt for t in texts], [t.text for t in texts]
        ids = self._encode(self.texts(prompts, bodies))["input_ids"]
        rows = [(row, t.label) for row, t in zip(ids, texts)]
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

        return DataLoader(rows, batch_size=self.config.batch_size, shuffle=shuffle,
                          collate_fn=collate,
                          generator=torch.Generator().manual_seed(self.context.seed))

    def _encode(self, texts: list[str], **kw: Any) -> dict:
        return self.tokenizer(texts, truncation=True, max_length=self.config.max_length,
                              return_token_type_ids=False, **kw)

    def _target_generations(self, corpus: OwnerCorpus) -> list[OwnerText]:
        """The target's sampled answers to each record's (unmasked) prompt, masked, owner-labelled."""
        from dareu.config import ModelConfig
        from dareu.data.formatting import format_prompt
        from dareu.generation import generate
        from dareu.models import load_causal_lm

        cfg, ctx = self.config, self.context
        if not ctx.target_path or ctx.tokenizer is None:
            raise AttributorError("attributor.options.use_target_generations=true needs the target "
                                  "model and its tokenizer: run `dareu prepare RECIPE` first.")
        source = ctx.unmasked_corpus or corpus  # prompts must name the owner, as in training
        index = {o: i for i, o in enumerate(corpus.owners)}
        records = source.of(corpus.owners)
        model = load_causal_lm(ctx.target_path, ctx.model_cfg or ModelConfig(), mode="full",
                               device=ctx.device, trainable=False)
        prompts = [format_prompt(r.prompt, ctx.tokenizer, ctx.template, ctx.chat_template)
                   for r in records for _ in range(cfg.generations_per_prompt)]
        torch.manual_seed(ctx.seed)
        answers = generate(model, ctx.tokenizer, prompts, cfg.generation_max_new_tokens,
                           batch_size=64, do_sample=True, temperature=cfg.generation_temperature)
        del model
        out = []
        for k, answer in enumerate(answers):
            r = records[k // cfg.generations_per_prompt]
            if answer.strip():
                out.append(OwnerText(ctx.mask(r.prompt), ctx.mask(answer), index[r.owner], "generation"))
        log.info("classifier attributor: %d target generations added to training", len(out))
        return out

    # -- score ----------------------------------------------------------------------------------
    @torch.inference_mode()
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, n_owners) softmax probabilities (rows sum to 1); texts should arrive masked."""
        if self.model is None and self.ngram is None and self.neighbours is None:
            raise AttributorError("the classifier attributor is not fitted: call fit(corpus) or "
                                  "load it from a folder written by save().")
        texts = self.texts(prompts, responses)
        # An empty text carries no evidence about any owner: uniform. (The reward does not rely
        # on this: DareU's fluency guard gives empty answers its full penalty.)
        probs = torch.full((len(texts), len(self.owners)), 1.0 / len(self.owners))   # (N, K)
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if rows:
            parts = self._expert_logits([""] * len(rows), [texts[j] for j in rows])    # E × (n, K)
            weights = self.weights or [1.0] * len(parts)
            logits = sum(w * p for w, p in zip(weights, parts))                          # (n, K)
            probs[rows] = torch.softmax(logits / self.config.temperature, dim=-1)
        return probs

    def to(self, device: str | torch.device) -> "ClassifierAttributor":
        if self.model is not None and not getattr(self.model, "is_loaded_in_4bit", False):
            self.model.to(device)
        for expert in (self.ngram, self.neighbours):
            if expert is not None:
                expert.to(device)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        super().save(directory)
        d = Path(directory)
        if self.ngram is not None:
            self.ngram.save(d / "ngram")
        if self.neighbours is not None:
            self.neighbours.save(d / "encoder")
        if self.model is None:
            return
        folder = d / ("model" if self.config.mode == "full" else "adapter")
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)

    def after_load(self, directory: Path) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from dareu.models import ensure_pad_token

        cfg = self.config
        self.report = dict(_read_meta(directory).get("report") or {})
        if (directory / "ngram").is_dir():
            from attributors.ngram import NgramModel

            self.ngram = NgramModel.load(directory / "ngram", len(self.owners))
        weights = self.report.get("expert_weights")
        self.weights = [weights[e] for e in cfg.experts] if weights else None
        if (directory / "encoder").is_dir():
            self.neighbours = self._neighbours().load(directory / "encoder").to(self.context.device)
        if "transformer" not in cfg.experts:
            return
        if cfg.mode == "full":
            folder = directory / "model"
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), use_safetensors=True)
        else:
            from peft import PeftModel

            folder = directory / "adapter"
            base = _load_backbone(cfg, cfg.backbone, _label_maps(self.owners), self.context.device)
            self.model = PeftModel.from_pretrained(base, str(folder))
            if cfg.mode == "lora":
                self.model = self.model.merge_and_unload()  # plain model: faster scoring
        self.tokenizer = ensure_pad_token(AutoTokenizer.from_pretrained(str(folder)))
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.eval()
        self.to(self.context.device)


def _read_meta(directory: Path) -> dict:
    import json

    return json.loads((Path(directory) / "attributor.json").read_text())
