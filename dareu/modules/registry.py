"""Unlearning methods by name: DareU and the loss-based baselines register themselves here.

A new method needs no core edit: decorate a `UnlearnMethod` subclass with `@register_method(name)`
in any imported module (or name it by import path `package.module:Class` in `unlearn.methods`).
The lookup (built-ins imported on first use, did-you-mean errors) is dareu.registry's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import lightning as L
import torch

from dareu.data.corpus import Record
from dareu.data.formatting import encode_pair, format_prompt
from dareu.registry import Registry

if TYPE_CHECKING:
    from dareu.config import Config, UnlearnConfig
    from dareu.modules.policy import Policy


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


# the built-ins, by the module whose import registers them (tests/test_dareu_registry.py checks the list)
_BASELINES = ("grad_ascent", "grad_diff", "idkpo", "kl", "npo", "simnpo")
METHODS = Registry("method", "unlearn.methods", base=UnlearnMethod, name_attr="method_name",
                   builtins={"dareu": "dareu.modules.dareu",
                             **{name: "dareu.modules.baselines" for name in _BASELINES}})


def register_method(name: str):
    """Class decorator: make an UnlearnMethod selectable in `unlearn.methods`."""
    return METHODS.register(name)


def available_methods() -> list[str]:
    return METHODS.names()


def get_method(name: str) -> type[UnlearnMethod]:
    """The method class of `name`: built-in, decorated, or an import path `package.module:Class`."""
    return METHODS.get(name)
