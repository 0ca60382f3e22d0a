"""How a model decodes: eager (a dynamic KV cache, one Python-launched forward per token) or static
(transformers' static KV cache, with the decode step compiled by `torch.compile` on CUDA).

On a GPU, small-batch decoding is bound by kernel launches, not by arithmetic: a static cache gives
every decode step the same shapes, so transformers' `generate` can run it as one compiled graph
(`CompileConfig`, "reduce-overhead" = CUDA graphs). On a CPU there is nothing to gain, so `auto`
keeps the eager path there, byte for byte.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

log = logging.getLogger("dareu")

DECODE_MODES = ("auto", "eager", "static")


@dataclass(frozen=True)
class DecodePlan:
    """What one `generate` call does: static cache or not, compiled decode step or not, and why."""

    static: bool
    compiled: bool
    reason: str

    def generate_kwargs(self) -> dict:
        """Extra `model.generate` arguments ({} for the eager path: today's call, unchanged)."""
        if not self.static:
            return {}
        if self.compiled:
            from transformers import CompileConfig

            # fullgraph off: peft's LoRA layers and some attention kernels break graphs
            return {"cache_implementation": "static",
                    "compile_config": CompileConfig(fullgraph=False, mode="reduce-overhead")}
        return {"cache_implementation": "static", "disable_compile": True}


def compileable(model: nn.Module) -> tuple[bool, str]:
    """Whether this model's decode step can be compiled, and if not, why: transformers refuses 4-bit
    bitsandbytes weights; FSDP2-sharded weights are all-gathered into new memory for each rollout."""
    from dareu.sharding import is_sharded

    if is_sharded(model):  # gathered afresh for every rollout: captured graphs would hold stale weights
        return False, "its weights are FSDP2-sharded (gathered anew for each rollout)"
    base = getattr(model, "get_base_model", lambda: model)()
    quantizer = getattr(base, "hf_quantizer", None)
    if quantizer is not None and not quantizer.is_compileable:
        name = type(quantizer).__name__
        return False, f"its quantized weights ({name}) cannot be compiled by transformers"
    return True, ""


def plan_decode(mode: str, device: torch.device, can_compile: bool = True,
                why_not: str = "") -> DecodePlan:
    """The decode plan of `mode` (auto, eager, static) on `device`. `auto`: static + compiled on
    CUDA, eager elsewhere. `static`: the static cache on any device, compiled on CUDA only. A model
    that cannot be compiled keeps the static cache and decodes uncompiled (`why_not` says why)."""
    if mode not in DECODE_MODES:
        raise ValueError(f"decode mode {mode!r}: expected one of {', '.join(DECODE_MODES)}")
    cuda = torch.device(device).type == "cuda"
    if mode == "eager" or (mode == "auto" and not cuda):
        return DecodePlan(False, False, f"{mode} on {torch.device(device).type}: eager decoding")
    if not cuda:
        return DecodePlan(True, False, "static on a CPU: static KV cache, not compiled (CUDA only)")
    if not can_compile:
        return DecodePlan(True, False, f"static KV cache, not compiled: {why_not}")
    return DecodePlan(True, True, "static KV cache and a compiled decode step (CUDA)")


_logged: set[str] = set()


def plan_for(model: nn.Module, mode: str, device: torch.device) -> DecodePlan:
    """`plan_decode` for this model, its reason logged once per distinct plan."""
    plan = plan_decode(mode, device, *compileable(model))
    if plan.static and plan.reason not in _logged:
        _logged.add(plan.reason)
        log.info("decoding: %s", plan.reason)
    return plan
