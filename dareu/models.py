"""Load, build and save causal LMs in three modes: full, LoRA, and 4-bit QLoRA.

A tiny model trained from scratch (GPT-2 or Llama shape, with a byte-level BPE tokenizer trained
on the corpus) stands in for a hub model on CPU machines; the loading code is the same for both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (AutoModelForCausalLM, AutoTokenizer, PreTrainedModel,
                          PreTrainedTokenizerBase, PreTrainedTokenizerFast)

from dareu.config import ModelConfig
from dareu.errors import EnvironmentProblem, ModelError

transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

SPECIAL = {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>",
           "unk_token": "<|unk|>"}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# ---------------------------------------------------------------------------------------------
# Tokenizer


def train_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the corpus (no hub download needed)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=SPECIAL["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL.values()),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL)
    fast.padding_side = "right"
    return fast


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Many hub tokenizers ship without a pad token: reuse EOS (a handled case, not an error)."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError("the tokenizer has neither a pad nor an EOS token; set "
                             "model.tokenizer_path to a tokenizer that defines one.")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_tokenizer(path: str | Path, cfg: ModelConfig) -> PreTrainedTokenizerBase:
    _check_local(path, cfg, need_weights=False)
    try:
        tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=cfg.trust_remote_code)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load a tokenizer from {path}: {str(e).splitlines()[0]}") from None
    return ensure_pad_token(tok)


# ---------------------------------------------------------------------------------------------
# Models


def build_tiny_model(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> PreTrainedModel:
    """A randomly initialised GPT-2 or Llama-shaped model sized by the config (seeded)."""
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    ids = dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if cfg.arch == "gpt2":
        conf = GPT2Config(n_layer=cfg.n_layer, n_embd=cfg.n_embd, n_head=cfg.n_head,
                          n_positions=cfg.max_length, resid_pdrop=0.0, embd_pdrop=0.0,
                          attn_pdrop=0.0, **ids)
        return GPT2LMHeadModel(conf)
    conf = LlamaConfig(hidden_size=cfg.n_embd, intermediate_size=cfg.n_embd * 4 // 3 * 2,
                       num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
                       num_key_value_heads=cfg.n_head, max_position_embeddings=cfg.max_length,
                       tie_word_embeddings=True, **ids)
    return LlamaForCausalLM(conf)


def _is_local(path: str | Path) -> bool:
    p = str(path)
    return os.path.isabs(p) or p.startswith(".") or os.path.exists(p)


def _check_local(path: str | Path, cfg: ModelConfig, need_weights: bool = True) -> None:
    """Clear errors for a missing/corrupt folder and for pickle weights (refused by default)."""
    if not _is_local(path):
        return  # a hub id: transformers reports its own errors, wrapped below
    p = Path(path)
    if not p.is_dir():
        raise ModelError(f"model folder {p} does not exist (expected a folder written by "
                         "save_pretrained, or a hub id).")
    if not need_weights:
        return
    if not (p / "config.json").is_file() and not (p / "adapter_config.json").is_file():
        raise ModelError(f"model folder {p} has no config.json: it is not a Hugging Face model "
                         "folder (or it is incomplete).")
    safe = list(p.glob("*.safetensors"))
    pickled = list(p.glob("*.bin")) + list(p.glob("*.pt")) + list(p.glob("*.pth"))
    if not safe and pickled and not cfg.allow_pickle:
        raise ModelError(f"model folder {p} holds only pickle weights ({pickled[0].name}). Pickle "
                         "files can run arbitrary code when loaded; convert them to safetensors, or "
                         "set model.allow_pickle=true if you trust their source.")
    if not safe and not pickled:
        raise ModelError(f"model folder {p} has no weight files (*.safetensors).")


def quantization_config(cfg: ModelConfig) -> Any:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise EnvironmentProblem("model.mode=qlora needs bitsandbytes (pip install bitsandbytes>=0.47), "
                                 "which is not installed.") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=DTYPES[cfg.dtype])


def from_pretrained_4bit(auto_cls: Any, path: str | Path, dtype: str,
                         device: str | torch.device | None, **kw: Any) -> PreTrainedModel:
    """The one place a 4-bit (nf4) model is loaded: policy, reference, classifier backbone and
    gradient attributors all come through here, so they behave alike on every CPU."""
    from types import SimpleNamespace

    model = auto_cls.from_pretrained(
        str(path), quantization_config=quantization_config(SimpleNamespace(dtype=dtype)),
        device_map={"": str(device or "cpu")}, dtype=DTYPES[dtype], **kw)
    keep_4bit_layout(model)
    return model


def keep_4bit_layout(model: torch.nn.Module) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for its AVX512-BF16 CPU kernel.

    On such a CPU, `Linear4bit.forward` in eval mode without grad rewrites the weight in place into
    a CPU-only layout that needs block-multiple sizes and breaks the training forwards DareU
    interleaves with no-grad generation. With the flag off every CPU takes the same portable path
    (the packed kernel is an inference-only speed-up). Returns the number of 4-bit layers touched."""
    n = 0
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def load_causal_lm(path: str | Path, cfg: ModelConfig, mode: str = "full",
                   device: str | torch.device | None = None, trainable: bool = True) -> PreTrainedModel:
    """Load a causal LM from a folder or hub id and prepare it for `mode` (full / lora / qlora).

    In qlora the 4-bit base is loaded directly on `device` (it cannot be moved afterwards), which is
    what DDP needs: each rank passes its own device.
    """
    _check_local(path, cfg)
    adapter = Path(path) / "adapter_config.json"
    if _is_local(path) and adapter.is_file() and not (Path(path) / "config.json").is_file():
        raise ModelError(f"{path} holds only a LoRA adapter; point at the merged model, or at the "
                         "base model and load the adapter with peft.")
    kw: dict[str, Any] = dict(trust_remote_code=cfg.trust_remote_code,
                              use_safetensors=None if cfg.allow_pickle else True)
    try:
        if mode == "qlora":
            model = from_pretrained_4bit(AutoModelForCausalLM, path, cfg.dtype, device, **kw)
        else:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=DTYPES[cfg.dtype], **kw)
    except Exception as e:  # corrupt weights surface as many library-specific error types
        if isinstance(e, (KeyboardInterrupt, MemoryError)):
            raise
        raise ModelError(f"cannot load a causal LM from {path}: {str(e).splitlines()[0]}") from None
    if device is not None and mode != "qlora":
        model.to(device)
    return apply_mode(model, cfg, mode) if trainable else model.eval()


def apply_mode(model: PreTrainedModel, cfg: ModelConfig, mode: str) -> PreTrainedModel:
    """full: train every weight; lora / qlora: wrap in a peft LoRA model (base frozen)."""
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
    if mode == "full":
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if mode == "qlora":
        # keeps norms in fp32 and enables input grads; no gradient checkpointing on tiny models
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    targets: Any = cfg.lora_target_modules or "all-linear"
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM",
                      fan_in_fan_out=model.config.model_type == "gpt2")
    return get_peft_model(model, lcfg)


def enable_checkpointing(model: PreTrainedModel) -> None:
    """Activation (gradient) checkpointing, non-reentrant: works with frozen inputs (LoRA)."""
    kw = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers ≥ 5.2x
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kw)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kw)


def is_checkpointing(model: torch.nn.Module) -> bool:
    base = getattr(model, "get_base_model", lambda: model)()
    if hasattr(type(base), "is_activation_checkpointing"):  # transformers ≥ 5.2x
        return bool(base.is_activation_checkpointing)
    return bool(getattr(base, "is_gradient_checkpointing", False))


def is_peft(model: torch.nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path,
               merge: bool = False, cfg: ModelConfig | None = None,
               base_path: str | Path | None = None, state_dict: dict | None = None) -> None:
    """Save in HF format with safetensors. Adapters are saved as peft adapters; with `merge`, a
    merged full model is written to `out_dir/merged` too (for 4-bit bases, the base is reloaded in
    full precision from `base_path` and the adapter merged into it). `state_dict`: the weights to
    write instead of the model's own (a sharded model's gathered weights)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    if not is_peft(model):
        model.save_pretrained(out, safe_serialization=True, state_dict=state_dict)
        return
    model.save_pretrained(out / "adapter", safe_serialization=True, state_dict=state_dict)
    if merge:
        merged_dir = out / "merged"
        merged = merged_model(model, cfg, base_path)
        merged.save_pretrained(merged_dir, safe_serialization=True)
        tokenizer.save_pretrained(merged_dir)


def merged_model(model: PreTrainedModel, cfg: ModelConfig | None, base_path: str | Path | None,
                 state_dict: dict | None = None) -> PreTrainedModel:
    """A plain HF model with the LoRA weights folded in. `state_dict`: the model's weights when its
    own are not whole (gathered from an FSDP2-sharded model); the base is then reloaded, as for a
    4-bit one."""
    import copy

    from peft import PeftModel

    base = model.get_base_model()
    if getattr(base, "is_loaded_in_4bit", False) or state_dict is not None:
        if base_path is None or cfg is None:
            raise ModelError("merging a 4-bit QLoRA or sharded adapter needs the full-precision "
                             "base model path.")
        full = load_causal_lm(base_path, cfg, mode="full", trainable=False)
        weights = model.state_dict() if state_dict is None else state_dict
        adapter_state = {k: v for k, v in weights.items() if "lora_" in k}
        peft_full = PeftModel(full, model.peft_config["default"])
        peft_full.load_state_dict(adapter_state, strict=False)
        return peft_full.merge_and_unload()
    return copy.deepcopy(model).merge_and_unload()


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of all parameters and buffers as stored (4-bit weights count as packed bytes)."""
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def eval_mode(cfg: ModelConfig) -> str:
    """How evaluation loads models: in 4-bit when the run trains on a 4-bit base (model.mode=qlora),
    so evaluation and the fluency judge fit where unlearning fits; in full precision otherwise."""
    return "qlora" if cfg.mode == "qlora" else "full"


def load_trained(path: str | Path, cfg: ModelConfig, base_path: str | Path | None = None,
                 device: str | torch.device | None = None, mode: str = "full") -> PreTrainedModel:
    """Load a model written by `save_model` for evaluation: a full model folder, a folder with a
    `merged/` model, or a folder with only an `adapter/` (applied to `base_path`). `mode="qlora"`
    loads the weights in 4-bit; an adapter then stays unmerged on its 4-bit base."""
    from peft import PeftModel

    p = Path(path)
    for full in (p, p / "merged"):
        if (full / "config.json").is_file():
            return load_causal_lm(full, cfg, mode=mode, device=device, trainable=False)
    if (p / "adapter" / "adapter_config.json").is_file():
        if base_path is None:
            raise ModelError(f"{p} holds only a LoRA adapter and no base model path was given.")
        base = load_causal_lm(base_path, cfg, mode=mode, device=device, trainable=False)
        adapted = PeftModel.from_pretrained(base, str(p / "adapter"))
        return (adapted if mode == "qlora" else adapted.merge_and_unload()).eval()
    raise ModelError(f"{p} holds no model (expected config.json, merged/ or adapter/).")
