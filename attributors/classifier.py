"""The LLM-classifier attributor (the paper's): p(owner | text) from a product of experts.

Up to three experts read the alias-masked text (`features`), each behind attributors.expert.Expert:
`transformer` (a Hugging Face sequence classifier, transformer_expert.py), `encoder` (nearest owner
texts under a pretrained sentence encoder, encoder.py) and `ngram` (TF-IDF and logistic regression,
ngram.py). They are fitted on owner-labelled text: every owner's responses, paraphrases and,
optionally, the target model's own sampled answers to the owner's prompts (the distribution it
will score during RL; the fit stage samples them). Their logits are added with weights learnt by
stacking (stacking.py); scores are the softmax over owners: each row is non-negative and sums to
one.

Options are in classifier_config.py. Saved as `attributor.json` (options, owners, the fit report
with the expert weights) beside one folder per expert: `model/` or `adapter/`, `encoder/`,
`ngram/`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch

from attributors.base import Attributor, AttributorError, TargetSampling, register_attributor
# the options moved to a file of their own; imported back so every name stays here
from attributors.classifier_config import FEATURES, MODES, ClassifierConfig  # noqa: F401
from attributors.encoder import EncoderNeighbours
from attributors.evaluation import OwnerText, heldout_metrics, split_owner_texts
from attributors.expert import Expert
from attributors.ngram import NgramModel
from attributors.stacking import stack
from attributors.transformer_expert import TransformerExpert
from dareu.data.corpus import OwnerCorpus

log = logging.getLogger("dareu")


@register_attributor("classifier")
class ClassifierAttributor(Attributor):
    """p(owner | masked text) = softmax(Σ_e w_e · logits_e / temperature) over the experts e of
    `features`; rows are probabilities (sum 1). Fitted with `fit(corpus)` (alias-masked corpus)."""

    Config = ClassifierConfig

    def __init__(self, config: ClassifierConfig | None = None, context=None) -> None:
        super().__init__(config, context)
        self.experts: dict[str, Expert] = {}  # in the order of `features`
        self.weights: list[float] | None = None  # the experts' logit weights (stacking); None: 1 each
        self.report: dict[str, Any] = {}

    @property
    def uses_target(self) -> bool:
        return self.config.use_target_generations

    @property
    def target_sampling(self) -> TargetSampling | None:
        cfg = self.config
        if not cfg.use_target_generations:
            return None
        return TargetSampling(cfg.generations_per_prompt, cfg.generation_temperature,
                              cfg.generation_max_new_tokens)

    def fit_report(self) -> dict[str, Any]:
        return dict(self.report)

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, corpus: OwnerCorpus) -> "ClassifierAttributor":
        cfg, ctx = self.config, self.context
        self.owners = list(corpus.owners)
        L.seed_everything(ctx.seed, workers=True, verbose=False)
        train, heldout = split_owner_texts(corpus, cfg.holdout_fraction, cfg.use_paraphrases, ctx.seed)
        generations = self._generations() if cfg.use_target_generations else []
        t0 = time.time()
        texts = train + generations
        self.experts = self._experts(corpus)
        self.report, self.weights = {}, None
        if len(self.experts) > 1 and cfg.stack_fraction > 0:
            self.weights = stack(self.experts, texts, self._read, cfg.stack_fraction, ctx.seed)
            if self.weights is not None:
                self.report["expert_weights"] = dict(zip(self.experts, self.weights))
        seen, labels = self._read(texts), [t.label for t in texts]
        for expert in self.experts.values():
            expert.fit(seen, labels)
        self.to(ctx.device)
        self.report.update({"train_texts": len(train), "train_generations": len(generations),
                            "fit_seconds": round(time.time() - t0, 1)})
        if heldout:
            probs = self.score([t.prompt for t in heldout], [t.text for t in heldout])
            self.report.update(heldout_metrics(probs, torch.tensor([t.label for t in heldout])))
        log.info("classifier attributor: %s", self.report)
        return self

    def _read(self, texts: list[OwnerText]) -> list[str]:
        """What the experts see of owner texts (the response, or prompt + response)."""
        return self.texts([t.prompt for t in texts], [t.text for t in texts])

    def _experts(self, corpus: OwnerCorpus | None = None) -> dict[str, Expert]:
        """The unfitted experts of `features`; the transformer's tokenizer comes from `corpus`
        (None: from its saved folder, on load)."""
        cfg, ctx, k = self.config, self.context, len(self.owners)
        out: dict[str, Expert] = {}
        for name in cfg.experts:
            if name == "transformer":
                out[name] = (TransformerExpert.for_corpus(cfg, self.owners, ctx, corpus)
                             if corpus is not None else TransformerExpert(cfg, self.owners, ctx))
            elif name == "encoder":
                out[name] = EncoderNeighbours(cfg.encoder, k, cfg.encoder_temperature,
                                              cfg.max_length, cfg.score_batch_size).to(ctx.device)
            else:
                out[name] = NgramModel(k, cfg.ngram_n, cfg.ngram_l2)
        return out

    def _generations(self) -> list[OwnerText]:
        """The target's sampled answers the fit stage put in the context, owner-labelled."""
        answers = self.context.target_answers
        if answers is None:
            raise AttributorError("attributor.options.use_target_generations=true needs the target "
                                  "model's sampled answers, which `dareu fit-attributor` draws: run "
                                  "`dareu prepare RECIPE` first (or pass context.target_answers).")
        index = {o: i for i, o in enumerate(self.owners)}
        out = [OwnerText(r.prompt, r.response, index[r.owner], "generation") for r in answers
               if r.owner in index]
        log.info("classifier attributor: %d target generations added to training", len(out))
        return out

    # -- score ----------------------------------------------------------------------------------
    @torch.inference_mode()
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, n_owners) softmax probabilities (rows sum to 1); texts should arrive masked."""
        if not self.experts:
            raise AttributorError("the classifier attributor is not fitted: call fit(corpus) or "
                                  "load it from a folder written by save().")
        texts = self.texts(prompts, responses)
        # An empty text carries no evidence about any owner: uniform. (The reward does not rely
        # on this: DareU's fluency guard gives empty answers its full penalty.)
        probs = torch.full((len(texts), len(self.owners)), 1.0 / len(self.owners))   # (N, K)
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if rows:
            kept = [texts[j] for j in rows]
            parts = [expert.logits(kept) for expert in self.experts.values()]         # E × (n, K)
            weights = self.weights or [1.0] * len(parts)
            logits = sum(w * p for w, p in zip(weights, parts))                         # (n, K)
            probs[rows] = torch.softmax(logits / self.config.temperature, dim=-1)
        return probs

    def to(self, device: str | torch.device) -> "ClassifierAttributor":
        for expert in self.experts.values():
            expert.to(device)
        return self

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        super().save(directory)
        for expert in self.experts.values():
            expert.save(Path(directory) / expert.folder)

    def after_load(self, directory: Path) -> None:
        import json

        cfg = self.config
        self.report = dict(json.loads((directory / "attributor.json").read_text()).get("report") or {})
        weights = self.report.get("expert_weights")
        self.weights = [weights[e] for e in cfg.experts] if weights else None
        self.experts = self._experts()
        for name, expert in self.experts.items():
            folder = directory / expert.folder
            if not folder.is_dir():
                raise AttributorError(f"{directory} holds no `{expert.folder}/` folder for the "
                                      f"classifier's `{name}` expert; run `dareu fit-attributor "
                                      "RECIPE` again.")
            expert.load(folder)
        self.to(self.context.device)
