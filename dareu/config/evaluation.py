"""The `eval` section: which metrics evaluate target, oracle and unlearned models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dareu.config.attributor import _check_attributor_names
from dareu.config.checks import _check, _positive

EVAL_EXTRAS = ("mia", "fluency", "attribution")


@dataclass
class EvalConfig:
    """Evaluation of target, oracle and unlearned models."""

    batch_size: int = 32
    max_new_tokens: int = 48
    """Greedy answer length cap for ROUGE and attribution."""
    metrics: list[str] = field(default_factory=lambda: list(EVAL_EXTRAS))
    """Metric groups on top of the TOFU core (prob, ROUGE, truth ratio, forget quality, model
    utility, ToW, extraction strength): `mia` (needs holdout records), `fluency` (loads the oracle
    as judge), `attribution` (needs a fitted attributor)."""
    max_items: Optional[int] = None
    """Evaluate at most N items per split (evenly spaced, the same for every model); None = all."""
    mia_k: float = 0.4
    """Fraction of lowest-probability answer tokens the Min-K% attack averages."""
    attributors: list[str] = field(default_factory=list)
    """Extra attributors to measure the forget mass with, besides the reward's (`attributor`):
    each is fitted with its default options into `attributors/<name>/` (the reward's own is reused
    when the name is `attributor.name`) and adds `forget_attribution_mass_<name>` to every model.
    Needs `attribution` in `metrics`."""

    def __post_init__(self) -> None:
        _positive("eval", self, "batch_size", "max_new_tokens")
        unknown = [m for m in self.metrics if m not in EVAL_EXTRAS]
        _check(not unknown, "eval.metrics", self.metrics, "a list drawn from " + ", ".join(EVAL_EXTRAS))
        _check(self.max_items is None or self.max_items > 0, "eval.max_items", self.max_items,
               "a number > 0, or null for all items")
        _check(0 < self.mia_k <= 1, "eval.mia_k", self.mia_k, "in (0, 1]")
        _check_attributor_names("eval.attributors", self.attributors)
