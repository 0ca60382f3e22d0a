"""Quantization attack: the model loaded again in 4-bit (bitsandbytes nf4) and, where bitsandbytes
runs it on the model's device, in 8-bit (LLM.int8), then asked the forget questions greedily.

Unlearning by small weight updates can sit below the quantization step: the unlearned weights
round to nearly the same codes as the target's, and the forgotten answers come back (Zhang et
al. 2024, "Does your LLM truly unlearn?"). The model is written to a temporary folder
(safetensors) and loaded from it with a quantization config, as anyone quantizing a released
model would. A model that is already 4-bit (model.mode=qlora) is its own 4-bit model; a LoRA
adapter on a 4-bit base is merged into the 4-bit weights (requantized), which is what a user
who quantizes the merged model gets.
"""

from __future__ import annotations

import copy
import functools
import gc
import logging
import tempfile
import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from dareu.errors import DareUError, EnvironmentProblem
from dareu.eval.attacks.base import AttackInputs, AttackResult, greedy_rouge, mean
from dareu.eval.metrics import rouge_l_recall
from dareu.models import DTYPES, from_pretrained_4bit, is_peft, keep_4bit_layout

log = logging.getLogger("dareu")

WIDTHS = {4: "", 8: "_int8"}
"""Bits -> infix of its summary keys (attack_quantize<infix>_rouge) and item fields."""
FIGURES = ("rouge", "changed", "mass")


def attack(model: PreTrainedModel, inputs: AttackInputs) -> AttackResult:
    require_bitsandbytes()
    records = inputs.forget
    prompts = [inputs.prompt_text(r.prompt) for r in records]
    before, before_rouge = greedy_rouge(model, inputs, prompts, records)
    items = [{"id": r.id, "answer_before": a, "rouge_before": s}
             for r, a, s in zip(records, before, before_rouge)]
    summary: dict[str, float | None] = {}
    notes: list[str] = []
    for bits, infix in WIDTHS.items():
        answers, note = _answers(model, bits, inputs, prompts, before)
        if note:
            notes.append(note)
            log.log(logging.WARNING if answers is None else logging.INFO,
                    "attack quantize: %s", note)
        if answers is None:
            summary.update({f"attack_quantize{infix}_{k}": None for k in FIGURES})
            continue
        rouge = rouge_l_recall(answers, [r.response for r in records])
        mass = (list(inputs.forget_mass([r.prompt for r in records], answers))
                if inputs.forget_mass else None)
        summary.update({f"attack_quantize{infix}_rouge": mean(rouge),
                        f"attack_quantize{infix}_changed":
                            mean([float(a != b) for a, b in zip(answers, before)]),
                        f"attack_quantize{infix}_mass": mean(mass) if mass is not None else None})
        for i, item in enumerate(items):
            item.update({f"answer{infix}": answers[i], f"rouge{infix}": rouge[i],
                         f"mass{infix}": mass[i] if mass is not None else None})
    summary["attack_quantize_rouge_before"] = mean(before_rouge)
    return AttackResult(summary, items, notes)


def _answers(model: PreTrainedModel, bits: int, inputs: AttackInputs, prompts: list[str],
             before: list[str]) -> tuple[list[str] | None, str | None]:
    """(greedy answers of `model` in `bits` bits, or None when not run; a note on why or how)."""
    held = quantized_bits(model)
    if held is not None and held != bits:
        return None, (f"{bits}-bit not run: the model is already loaded in {held}-bit, so its "
                      f"full-precision weights are not there to quantize")
    if held == bits and not is_peft(model):
        return before, f"the model is already {bits}-bit: its {bits}-bit answers are its own"
    why = unsupported(bits, _device(model), model.dtype)
    if why:
        return None, f"{bits}-bit not run: {why}"
    answers = _greedy_quantized(model, bits, inputs, prompts)
    gc.collect()  # the quantized copy, before the next one loads
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    note = (f"the LoRA adapter was merged into the {bits}-bit base (requantized)"
            if held == bits else None)
    return answers, note


def _greedy_quantized(model: PreTrainedModel, bits: int, inputs: AttackInputs,
                      prompts: list[str]) -> list[str]:
    with quantized(model, bits) as q, _quiet_int8_casts():
        return inputs.greedy(q, prompts)


@contextmanager
def _quiet_int8_casts() -> Iterator[None]:
    """bitsandbytes logs on every int8 matmul that fp32 inputs are cast to fp16: once per token."""
    logger = logging.getLogger("bitsandbytes.autograd._functions")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def quantized(model: PreTrainedModel, bits: int) -> Iterator[PreTrainedModel]:
    """A `bits`-bit copy of `model` on its device (the model itself is left as it was). A
    full-precision model goes through a temporary safetensors folder, kept while the copy is in
    use; a LoRA adapter on a `bits`-bit base is merged into a copy of it (peft dequantizes, adds
    the adapter, requantizes)."""
    if quantized_bits(model) == bits and is_peft(model):
        with warnings.catch_warnings():  # peft warns that merging into 4-bit rounds: the point
            warnings.simplefilter("ignore")
            merged = copy.deepcopy(model).merge_and_unload().eval()
        keep_4bit_layout(merged)
        yield merged
        return
    if is_peft(model):  # a full-precision base: fold the adapter in before saving
        model = copy.deepcopy(model).merge_and_unload()
    device, dtype = _device(model), _dtype_name(model)
    with tempfile.TemporaryDirectory(prefix="dareu-quantize-") as folder:
        model.save_pretrained(folder, safe_serialization=True)
        yield (from_pretrained_4bit(AutoModelForCausalLM, folder, dtype, device) if bits == 4
               else _from_pretrained_8bit(folder, dtype, device)).eval()


def _from_pretrained_8bit(folder: str, dtype: str, device: torch.device) -> PreTrainedModel:
    """LLM.int8 with bitsandbytes' defaults (outlier threshold 6.0), as users load 8-bit models."""
    from transformers import BitsAndBytesConfig

    return AutoModelForCausalLM.from_pretrained(
        folder, quantization_config=BitsAndBytesConfig(load_in_8bit=True),
        device_map={"": str(device)}, dtype=DTYPES[dtype])


def quantized_bits(model: torch.nn.Module) -> int | None:
    """4 or 8 when the model (or a peft model's base) holds bitsandbytes layers; None otherwise."""
    import bitsandbytes as bnb

    for m in model.modules():
        if isinstance(m, bnb.nn.Linear4bit):
            return 4
        if isinstance(m, bnb.nn.Linear8bitLt):
            return 8
    return None


@functools.lru_cache(maxsize=None)
def unsupported(bits: int, device: torch.device, dtype: torch.dtype) -> str | None:
    """Why bitsandbytes cannot run `bits`-bit layers on `device` (None: it can), found by running
    one small layer there: what runs where differs by bitsandbytes version and backend (8-bit on
    CPU needs bitsandbytes ≥ 0.48, say). Errors from the attack itself are not caught here."""
    import bitsandbytes as bnb

    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
                warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            layer = (bnb.nn.Linear4bit(64, 64, compute_dtype=dtype, quant_type="nf4") if bits == 4
                     else bnb.nn.Linear8bitLt(64, 64, has_fp16_weights=False)).to(device)
            keep_4bit_layout(layer)
            layer(torch.ones(2, 64, device=device, dtype=dtype))
    except Exception as e:  # bitsandbytes reports a missing backend under many error types
        if isinstance(e, (KeyboardInterrupt, MemoryError)):
            raise
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        return (f"bitsandbytes {bnb.__version__} cannot run {bits}-bit layers on {device.type} "
                f"({reason})")
    return None


def require_bitsandbytes() -> None:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise EnvironmentProblem("eval.attacks: quantize needs bitsandbytes (pip install "
                                 "bitsandbytes>=0.47), which is not installed.") from None


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _dtype_name(model: PreTrainedModel) -> str:
    names = {v: k for k, v in DTYPES.items()}
    if model.dtype not in names:
        raise DareUError(f"eval.attacks: quantize loads models in {', '.join(DTYPES)}; this model "
                         f"is in {model.dtype}.")
    return names[model.dtype]
