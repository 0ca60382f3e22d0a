"""Unlearning methods by name: DareU and the loss-based baselines register themselves here.

A new method needs no core edit: decorate a `UnlearnMethod` subclass with `@register_method(name)`
in any imported module (or name it by import path `package.module:Class` in `unlearn.methods`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import lightning as L
import torch

from dareu.errors import ConfigError

if TYPE_CHECKING:
    from dareu.modules.policy import Policy
    from dareu.pipeline import Run

_METHODS: dict[str, type["UnlearnMethod"]] = {}
_BUILTIN_MODULES = ("dareu.modules.dareu", "dareu.modules.baselines")


class UnlearnMethod(L.LightningModule):
    """Base of every unlearning method: holds the run, its config and the policy (+ reference).

    Subclasses implement `training_step` (or manual optimisation) and `train_dataloader`.
    """

    method_name: str = ""
    uses_attributor: bool = False
    """True when the method's result depends on the fitted attributor (its stage reruns with it)."""

    def __init__(self, run: "Run", policy: "Policy") -> None:
        super().__init__()
        self.run, self.cfg, self.policy = run, run.cfg, policy

    @classmethod
    def from_run(cls, run: "Run", policy: "Policy") -> "UnlearnMethod":
        """Build the method for a run (override to load what else it needs, e.g. DareU's reward)."""
        return cls(run, policy)

    @property
    def optimizer_steps_per_batch(self) -> int:
        """Optimiser updates per training batch; the unlearn stage runs steps × this many."""
        return 1

    def configure_optimizers(self):
        u = self.cfg.unlearn
        return torch.optim.AdamW(self.policy.trainable_parameters(), lr=u.lr,
                                 weight_decay=u.weight_decay)


def register_method(name: str):
    def deco(cls: type[UnlearnMethod]) -> type[UnlearnMethod]:
        cls.method_name = name
        _METHODS[name] = cls
        return cls

    return deco


def available_methods() -> list[str]:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    return sorted(_METHODS)


def get_method(name: str) -> type[UnlearnMethod]:
    if name not in _METHODS and ":" in name:
        mod, attr = name.split(":")
        register_method(name)(getattr(importlib.import_module(mod), attr))
    if name not in _METHODS:
        available_methods()
    if name not in _METHODS:
        raise ConfigError(f"unlearn.methods: unknown method {name!r}. Available: "
                          f"{', '.join(available_methods())} (or an import path package.module:Class).")
    return _METHODS[name]
