"""Unlearning methods by name: DareU and the loss-based baselines register themselves here.

A new method needs no core edit: decorate a `UnlearnMethod` subclass with `@register_method(name)`
in any imported module (or name it by import path `package.module:Class` in `unlearn.methods`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Sequence

import lightning as L
import torch

from dareu.data.corpus import Record
from dareu.data.formatting import encode_pair, format_prompt
from dareu.errors import ConfigError

if TYPE_CHECKING:
    from dareu.config import Config, UnlearnConfig
    from dareu.modules.policy import Policy

_METHODS: dict[str, type["UnlearnMethod"]] = {}
_BUILTIN_MODULES = ("dareu.modules.dareu", "dareu.modules.baselines")


class UnlearnMethod(L.LightningModule):
    """Base of every unlearning method: the policy (+ reference), the forget and retain records and
    the recipe, all plain objects, so the module runs in any `L.Trainer`.

    `cfg` is a `dareu.Config` (`Config()` for the defaults); a method reads `unlearn`, `unlearn.seed`,
    `model.max_length` and the prompt template of `data`. Subclasses implement `training_step` (or
    manual optimisation) and `train_dataloader`.
    """

    method_name: str = ""
    uses_attributor: bool = False
    """True when the method's result depends on the fitted attributor (its stage reruns with it)."""

    def __init__(self, policy: "Policy", forget: Sequence[Record], retain: Sequence[Record],
                 cfg: "Config") -> None:
        super().__init__()
        self.cfg, self.policy = cfg, policy
        self.forget, self.retain = list(forget), list(retain)

    @classmethod
    def build(cls, policy: "Policy", forget: Sequence[Record], retain: Sequence[Record],
              cfg: "Config", reward: Any = None, holdout: Sequence[Record] = ()) -> "UnlearnMethod":
        """What the unlearn stage calls; `reward` (the run's `DeAttributionReward`) is given when
        `uses_attributor` is True; `holdout`: records of owners no model was trained on. Override
        when the constructor takes more (DareU's reward and holdout)."""
        return cls(policy, forget, retain, cfg)

    @classmethod
    def steps_in(cls, u: "UnlearnConfig") -> int:
        """Training steps of the method under the recipe's `unlearn` section (`unlearn.steps`).
        The class decides, not the config, which may not import the methods."""
        return u.steps

    def prompt_text(self, prompt: str) -> str:
        """A record's prompt as the model reads it (the recipe's template / chat template)."""
        d = self.cfg.data
        return format_prompt(prompt, self.policy.tokenizer, d.template, d.chat_template)

    def encode(self, record: Record, response: str | None = None) -> dict[str, list[int]]:
        """input_ids / labels of the record's prompt with its own answer (or `response`)."""
        return encode_pair(self.policy.tokenizer, self.prompt_text(record.prompt),
                           record.response if response is None else response,
                           self.cfg.model.max_length)

    @property
    def optimizer_steps_per_batch(self) -> int:
        """Optimiser updates per training batch; the unlearn stage runs steps × this many."""
        return 1

    def configure_optimizers(self):
        u = self.cfg.unlearn
        return torch.optim.AdamW(self.policy.trainable_parameters(), lr=u.lr, weight_decay=0.0)


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
