"""Models under FSDP2 (`trainer.strategy: fsdp2`, Lightning's ModelParallelStrategy).

Every module a stage trains (finetune, the classifier attributor, DareU, the loss-based baselines)
shards itself in `configure_model` through `configure_fsdp2`. Training stays sharded: each
transformer block (the model's `_no_split_modules`) and then the whole model are `fully_shard`-ed
over the data-parallel ranks, so a rank holds 1/world of every weight, gradient and optimiser
state, and each forward / backward all-gathers one block at a time.
Sampling is different: a decode step is a forward over one token, and gathering every block at
every step would cost a full all-gather per generated token. `gathered(model)` all-gathers the
whole model once, keeps it through the decode and reshards it at the end; the peak is one full
copy of the weights (no gradients, no optimiser state) for the length of the rollout.
Saving gathers the weights onto rank 0 (`full_state_dict`); a model each rank uses on its own
after the fit (the classifier scores each rank's rollouts) is rebuilt whole (`unsharded`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from dareu.models import is_peft

log = logging.getLogger("dareu")


def configure_fsdp2(module, what: str, *models: nn.Module | None) -> bool:
    """What a LightningModule's `configure_model` calls: under FSDP2 shard each of `models` (the
    first is the trained one, logged as `what`; None entries are skipped) over the data-parallel
    ranks, once. Under any other strategy nothing happens; returns whether it sharded."""
    from lightning.pytorch.strategies import ModelParallelStrategy

    trained = models[0]
    if not isinstance(module.trainer.strategy, ModelParallelStrategy) or is_sharded(trained):
        return False
    mesh = module.device_mesh["data_parallel"]
    for model in models:
        if model is not None:
            shard_model(model, mesh)
    params = list(trained.parameters())
    log.info("FSDP2: %s sharded over %d ranks; this rank holds %d of its %d weights", what,
             mesh.size(), sum(p.to_local().numel() for p in params), sum(p.numel() for p in params))
    return True


def unsharded(model: nn.Module, build: Callable[[], nn.Module]) -> nn.Module:
    """A whole copy of a sharded `model` on every rank (collective: every rank must call it):
    `build()` makes the same network, which gets the gathered weights."""
    from torch.distributed.tensor import DTensor

    full = {k: v.full_tensor() if isinstance(v, DTensor) else v
            for k, v in model.state_dict().items()}
    with torch.random.fork_rng():  # building draws initial weights: the caller's stream stays
        fresh = build()
    fresh.load_state_dict(full)
    return fresh


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
