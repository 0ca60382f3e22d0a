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


# Finetune defaults per model kind. From scratch: the tiny quickstart model must learn everything
# (many epochs, a large lr). From a pretrained base (model.base_path): TOFU's own finetuning recipe
# (5 epochs, lr 1e-5, weight decay 0.01, one epoch of warmup), with lr 1e-4 when only LoRA adapters
# train, as TOFU's LoRA runs do; a pretrained model already knows the general test sets.
SCRATCH = dict(epochs=40, lr=3e-3, batch_size=32, weight_decay=0.0, warmup_ratio=0.05,
               include_test_sets=True)
PRETRAINED = dict(epochs=5, lr=1e-5, batch_size=16, weight_decay=0.01, warmup_ratio=0.2,
                  include_test_sets=False)
PRETRAINED_ADAPTER_LR = 1e-4


@dataclass
class FinetuneConfig:
    """How the target (all owners) and the oracle (retain owners only) are trained. A field left
    null takes the default of the model kind: from scratch (no model.base_path) or pretrained."""

    epochs: Optional[int] = None
    """Passes over the records. null: 40 from scratch, 5 from a pretrained base."""
    lr: Optional[float] = None
    """AdamW learning rate. null: 3e-3 from scratch; 1e-5 from a pretrained base (1e-4 when
    finetune.mode is lora / qlora)."""
    batch_size: Optional[int] = None
    """Records per optimiser step (per rank). null: 32 from scratch, 16 from a pretrained base."""
    weight_decay: Optional[float] = None
    """AdamW weight decay. null: 0 from scratch, 0.01 from a pretrained base."""
    warmup_ratio: Optional[float] = None
    """Share of the steps spent in linear warmup. null: 0.05 from scratch, 0.2 (one epoch of five)
    from a pretrained base."""
    mode: Optional[str] = None
    """full, lora or qlora: how the target/oracle finetune trains. null: full from scratch,
    model.mode from a pretrained base."""
    include_test_sets: Optional[bool] = None
    """Also train on the general test sets: a from-scratch model must learn world knowledge
    somewhere. null: true from scratch, false from a pretrained base (it already knows them)."""
    pretrain_owners: int = 0
    """From scratch only: first train the tiny model on this many *spare* owners (owners of the
    corpus that data.max_retain_owners leaves out; never a forget or retain owner), then finetune
    target and oracle from that base. A model retrained from a pretrained LLM answers an unseen
    owner's questions fluently and wrongly; a tiny model from scratch answers them with gibberish,
    and a benchmark scored by closeness to that oracle rewards breaking the answers. 0: off."""
    pretrain_epochs: Optional[int] = None
    """Passes of the pretraining over the spare owners' records. null: finetune.epochs."""
    pretrain_name_swaps: int = 0
    """With pretrain_owners: also pretrain on this many copies of the spare owners' records in which
    every owner's name is replaced by a made-up one (dareu/data/name_swap.py), so the base learns to
    copy a name from the question into the answer, as a pretrained LLM does. 0: off. The 3-layer
    TOFU tiny base did not learn to copy even with 8 copies (docs/method.md, "Not used, and why"),
    so no recipe sets it."""

    def __post_init__(self) -> None:
        for name in ("epochs", "lr", "batch_size"):
            v = getattr(self, name)
            _check(v is None or v > 0, f"finetune.{name}", v, "a number > 0, or null")
        _check(self.weight_decay is None or self.weight_decay >= 0, "finetune.weight_decay",
               self.weight_decay, ">= 0, or null")
        _check(self.warmup_ratio is None or 0 <= self.warmup_ratio < 1, "finetune.warmup_ratio",
               self.warmup_ratio, "in [0, 1), or null")
        _check(self.mode is None or self.mode in MODES, "finetune.mode", self.mode,
               "one of " + ", ".join(MODES) + ", or null")
        _check(isinstance(self.pretrain_owners, int) and self.pretrain_owners >= 0,
               "finetune.pretrain_owners", self.pretrain_owners, "an integer >= 0")
        _check(self.pretrain_epochs is None or self.pretrain_epochs > 0, "finetune.pretrain_epochs",
               self.pretrain_epochs, "a number > 0, or null")
        _check(isinstance(self.pretrain_name_swaps, int) and self.pretrain_name_swaps >= 0,
               "finetune.pretrain_name_swaps", self.pretrain_name_swaps, "an integer >= 0")

    def resolve(self, model: ModelConfig) -> None:
        """Fill every null field with the default of the model kind (model.base_path set or not)."""
        pretrained = model.base_path is not None
        _check(not (self.pretrain_owners and (pretrained or model.path)), "finetune.pretrain_owners",
               self.pretrain_owners, "0 when model.base_path or model.path is set (pretraining "
               "builds the base of a from-scratch run)")
        _check(not self.pretrain_name_swaps or self.pretrain_owners, "finetune.pretrain_name_swaps",
               self.pretrain_name_swaps, "0 unless finetune.pretrain_owners is set (it copies the "
               "pretraining records)")
        defaults = dict(PRETRAINED if pretrained else SCRATCH)
        if self.mode is None:
            self.mode = model.mode if pretrained else "full"
        if pretrained and self.mode != "full":
            defaults["lr"] = PRETRAINED_ADAPTER_LR
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.pretrain_epochs is None:
            self.pretrain_epochs = self.epochs
