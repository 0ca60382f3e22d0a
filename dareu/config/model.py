"""The `model` and `finetune` sections: the causal LM, and how target and oracle are trained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from dareu.config.checks import _check, _positive

MODES = ("full", "lora", "qlora")


@dataclass
class ModelConfig:
    """The causal LM: a hub id / folder, or a tiny model built from scratch."""

    path: Optional[str] = None
    """Target model folder or hub id. None: build a tiny model and finetune it on all owners."""
    oracle_path: Optional[str] = None
    """Oracle (retain-only) model folder or hub id. None: finetune one with the target's recipe."""
    base_path: Optional[str] = None
    """Pretrained model that target and oracle are finetuned from. None: a tiny model from scratch."""
    tokenizer_path: Optional[str] = None
    """Tokenizer folder or hub id. None: the model's own, or one trained on the corpus."""
    arch: str = "gpt2"
    """From-scratch architecture: `gpt2` or `llama`."""
    n_layer: int = 3
    n_embd: int = 192
    n_head: int = 4
    vocab_size: int = 2048
    """Vocabulary of the tokenizer trained on the corpus (from-scratch models only)."""
    max_length: int = 128
    """Maximum tokens of prompt + response."""
    mode: str = "full"
    """How the unlearning methods train the policy: `full`, `lora` or `qlora` (4-bit base + LoRA)."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: Optional[list[str]] = None
    """Module names LoRA wraps; None = every linear layer except the output head."""
    dtype: str = "float32"
    """Weights dtype when loading: float32, bfloat16 or float16 (4-bit compute dtype in qlora)."""
    trust_remote_code: bool = False
    """Run code shipped with a hub model. Off unless you trust its author."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass of the trained policy: less memory, more compute
    (for large models on one GPU; rollouts sample in eval mode and keep the KV cache)."""
    allow_pickle: bool = False
    """Accept .bin / pickle weights (unsafe: they can run code). Safetensors only by default."""
    merge_adapters: bool = False
    """Also save a merged full model next to the adapter after unlearning."""

    def __post_init__(self) -> None:
        _check(self.arch in ("gpt2", "llama"), "model.arch", self.arch, "gpt2 or llama")
        _check(self.mode in MODES, "model.mode", self.mode, "one of " + ", ".join(MODES))
        _check(self.dtype in ("float32", "bfloat16", "float16"), "model.dtype", self.dtype,
               "float32, bfloat16 or float16")
        _positive("model", self, "n_layer", "n_embd", "n_head", "vocab_size", "max_length", "lora_r",
                  "lora_alpha")
        _check(self.n_embd % self.n_head == 0, "model.n_embd", self.n_embd,
               f"a multiple of model.n_head={self.n_head}")
        _check(0 <= self.lora_dropout < 1, "model.lora_dropout", self.lora_dropout, "in [0, 1)")


@dataclass
class FinetuneConfig:
    """How the target (all owners) and the oracle (retain owners only) are trained."""

    epochs: int = 40
    lr: float = 3e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    mode: str = "full"
    """full, lora or qlora: how the target/oracle finetune trains (full for from-scratch models)."""
    include_test_sets: bool = True
    """Also train on the general test sets: a from-scratch model must learn world knowledge
    somewhere. Set false for pretrained hub models, which already know it."""

    def __post_init__(self) -> None:
        _positive("finetune", self, "epochs", "lr", "batch_size")
        _check(0 <= self.warmup_ratio < 1, "finetune.warmup_ratio", self.warmup_ratio, "in [0, 1)")
        _check(self.mode in MODES, "finetune.mode", self.mode, "one of " + ", ".join(MODES))
