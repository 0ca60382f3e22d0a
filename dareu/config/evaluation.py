"""The `eval` section: which metrics evaluate target, oracle and unlearned models."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional

from dareu.config.attributor import _check_attributor_names
from dareu.config.checks import _check, _positive

EVAL_EXTRAS = ("mia", "fluency", "attribution")
ATTACKS = ("sampling", "paraphrase", "relearn", "priming", "quantize")


@dataclass
class AttackConfig:
    """Settings of the attacks of eval.attacks (each defined in docs/evaluation.md)."""

    samples: int = 8
    """sampling: answers drawn per forget prompt at temperature 1."""
    relearn_steps: int = 20
    """relearn: optimizer steps of finetuning on the shown half of the forget QA."""
    relearn_lr: Optional[float] = None
    """relearn: learning rate (constant, AdamW); None = finetune.lr."""
    priming_pairs: int = 3
    """priming: the owner's other true QA pairs put in the prompt before the question (fewer
    when the model's context cannot hold them and the answer)."""

    def __post_init__(self) -> None:
        _positive("eval.attack", self, "samples", "relearn_steps", "priming_pairs")
        _check(self.relearn_lr is None or self.relearn_lr > 0, "eval.attack.relearn_lr",
               self.relearn_lr, "a number > 0, or null for finetune.lr")


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
    attacks: list[str] = field(default_factory=list)
    """Attacks that try to pull the forgotten answers back out of every model (oracle and target
    included), drawn from sampling, paraphrase, relearn, priming, quantize; [] = none."""
    attack: AttackConfig = field(default_factory=AttackConfig)
    """Settings of those attacks."""

    def __post_init__(self) -> None:
        _positive("eval", self, "batch_size", "max_new_tokens")
        unknown = [m for m in self.metrics if m not in EVAL_EXTRAS]
        _check(not unknown, "eval.metrics", self.metrics, "a list drawn from " + ", ".join(EVAL_EXTRAS))
        _check(self.max_items is None or self.max_items > 0, "eval.max_items", self.max_items,
               "a number > 0, or null for all items")
        _check(0 < self.mia_k <= 1, "eval.mia_k", self.mia_k, "in (0, 1]")
        _check_attributor_names("eval.attributors", self.attributors)
        bad = [a for a in self.attacks if a not in ATTACKS]
        _check(not bad and len(set(self.attacks)) == len(self.attacks), "eval.attacks",
               self.attacks, "a list of distinct names drawn from " + ", ".join(ATTACKS))


def metric_settings(e: EvalConfig) -> dict:
    """The eval settings the metrics depend on (the attacks have their own stages): the hash key
    of the evaluation stages, unchanged by adding, removing or tuning attacks."""
    return {f.name: getattr(e, f.name) for f in fields(e) if f.name not in ("attacks", "attack")}
