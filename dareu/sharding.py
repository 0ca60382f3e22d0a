"""DareU under FSDP2 (`trainer.strategy: fsdp2`, Lightning's ModelParallelStrategy).

Training stays sharded: each transformer block (the model's `_no_split_modules`) and then the
whole model are `fully_shard`-ed over the data-parallel ranks, so a rank holds 1/world of every
weight, gradient and optimiser state, and each forward / backward all-gathers one block at a time.
Sampling is different: a decode step is a forward over one token, and gathering every block at
every step would cost a full all-gather per generated token. `gathered(model)` all-gathers the
whole model once, keeps it through the decode and reshards it at the end; the peak is one full
copy of the weights (no gradients, no optimiser state) for the length of the rollout.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

from dareu.models import is_peft


def _fsdp_modules(model: nn.Module) -> list[nn.Module]:
    from torch.distributed.fsdp import FSDPModule

    return [m for m in model.modules() if isinstance(m, FSDPModule)]


def shard_model(model: nn.Module, mesh) -> None:
    """fully_shard every transformer block of a HF causal LM (peft-wrapped or not), then the model."""
    from torch.distributed.fsdp import fully_shard

    base = model.get_base_model() if is_peft(model) else model
    blocks = set(getattr(base, "_no_split_modules", None) or ())
    for m in list(model.modules()):
        if type(m).__name__ in blocks:
            fully_shard(m, mesh=mesh)
    fully_shard(model, mesh=mesh)


def is_sharded(model: nn.Module) -> bool:
    return bool(_fsdp_modules(model))


def full_state_dict(model: nn.Module) -> dict | None:
    """The model's whole weights as plain tensors on rank 0 (collective: every rank must call it;
    other ranks get an empty dict), for `save_pretrained(state_dict=...)`. None when not sharded:
    FSDP2's own `state_dict()` always returns the shards."""
    if not is_sharded(model):
        return None
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    # tied weights (GPT-2's head is its embedding) come back as two copies: keep the first name,
    # as save_pretrained does for an unsharded model
    first: dict[int, str] = {}
    tied = [name for name, p in model.named_parameters(remove_duplicate=False)
            if first.setdefault(id(p), name) != name]
    return {k: v for k, v in full.items() if k not in tied}


@contextmanager
def gathered(model: nn.Module) -> Iterator[nn.Module]:
    """Full parameters on every rank inside the block (collective: every rank must enter it).
    A model that is not sharded is yielded as is."""
    modules = _fsdp_modules(model)
    if not modules:
        yield model
        return
    model.set_reshard_after_forward(False)  # every FSDP submodule: keep what was gathered
    for m in modules:
        m.unshard()
    try:
        yield model
    finally:
        for m in modules:
            m.reshard()
        # back to what fully_shard set: blocks reshard after forward, the root does not
        model.set_reshard_after_forward(True)
        model.set_reshard_after_forward(False, recurse=False)
