"""What evaluating a model needs, as plain objects: the records, the tokenizer and prompt format,
the `eval` settings and the fitted attributors the forget mass is measured under.

The evaluate stage builds one from a run directory (`dareu.stages.objects.eval_task`); a user
builds one from their own corpus and tokenizer and calls `dareu.evaluate_model` with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from transformers import PreTrainedTokenizerBase

from dareu.config import DataConfig, EvalConfig
from dareu.data.corpus import OwnerCorpus
from dareu.data.formatting import format_prompt


@dataclass
class FittedAttributor:
    """A fitted attributor the forget mass is measured under, loaded when first needed."""

    key: list[Any]
    """What its scores depend on (its settings, its fitted weights), for the per-metric caches."""
    load: Callable[[], Any] | None
    """Returns anything with `forget_mass(prompts, responses) -> Tensor (N,)` (a
    `DeAttributionReward`); None when the attributor is not available."""
    missing: str = ""
    """Why it is not available (when `load` is None), for the log."""


@dataclass
class EvalTask:
    """The evaluation of one corpus: every model evaluated with the same task lines up per item."""

    corpus: OwnerCorpus
    tokenizer: PreTrainedTokenizerBase
    cfg: EvalConfig = field(default_factory=EvalConfig)
    """Metric groups, batch size, answer length, item cap (the recipe's `eval` section)."""
    max_length: int = 512
    """Token cap of a prompt + answer when scoring teacher-forced (`model.max_length`)."""
    template: str = DataConfig.template
    """How a record's prompt is shown to the model (`data.template`)."""
    chat_template: bool = False
    """Format prompts with the tokenizer's chat template instead (`data.chat_template`)."""
    mass: FittedAttributor | None = None
    """The reward's attributor: `forget_attribution_mass`; None: not measured."""
    extra_mass: dict[str, FittedAttributor] = field(default_factory=dict)
    """`eval.attributors` by name: `forget_attribution_mass_<name>`; the reward's own name maps
    to `mass` itself (its values are reused, not recomputed)."""
    data_key: list[Any] = field(default_factory=list)
    """What identifies the corpus in the per-metric caches (the stage: data settings and seed)."""

    def prompt_text(self, prompt: str) -> str:
        """A record's prompt as the model reads it."""
        return format_prompt(prompt, self.tokenizer, self.template, self.chat_template)
