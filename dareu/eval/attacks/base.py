"""What every attack gets (plain objects: no run directory) and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Callable, Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from dareu.config import AttackConfig
from dareu.data.corpus import Record
from dareu.data.formatting import encode_prompt, format_primed_prompt
from dareu.eval.metrics import rouge_l_recall
from dareu.generation import generate

ForgetMass = Callable[[Sequence[str], Sequence[str]], Sequence[float]]
"""(prompts, answers) -> the attributor's share of each answer on the forget owners."""


@dataclass
class AttackInputs:
    """The forget records to attack and the settings every attack shares."""

    tokenizer: PreTrainedTokenizerBase
    forget: list[Record]
    """The forget records the attacks ask about (after eval.max_items)."""
    owner_records: list[Record]
    """Every record of the forget owners: priming draws its true QA pairs from here."""
    settings: AttackConfig
    template: str
    chat_template: bool
    max_new_tokens: int
    batch_size: int
    max_length: int
    """Token cap of a training row (relearning), as in finetuning."""
    seed: int
    relearn_lr: float
    """Resolved eval.attack.relearn_lr (finetune.lr when unset)."""
    relearn_batch_size: int
    """Rows per relearning step (finetune.batch_size)."""
    forget_mass: ForgetMass | None = None
    """None: no fitted attributor, so no forget mass."""

    def prompt_text(self, prompt: str, pairs: Sequence[tuple[str, str]] = ()) -> str:
        return format_primed_prompt(pairs, prompt, self.tokenizer, self.template, self.chat_template)

    def prompt_tokens(self, prompt_text: str) -> int:
        return len(encode_prompt(self.tokenizer, prompt_text))

    def greedy(self, model: PreTrainedModel, prompt_texts: Sequence[str]) -> list[str]:
        return generate(model, self.tokenizer, prompt_texts, self.max_new_tokens, self.batch_size)


@dataclass
class AttackResult:
    """Headline figures (summary.json keys `attack_<name>_*`) and one entry per attacked item."""

    summary: dict[str, float | None]
    items: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a reader of the figures must know: why one is missing, or how it was obtained."""


def greedy_rouge(model: PreTrainedModel, inputs: AttackInputs, prompt_texts: Sequence[str],
                 records: Sequence[Record]) -> tuple[list[str], list[float]]:
    """Greedy answers to already formatted prompts and their ROUGE-L recall against the truth."""
    answers = inputs.greedy(model, prompt_texts)
    return answers, rouge_l_recall(answers, [r.response for r in records])


def mean(values: Sequence[float]) -> float | None:
    return round(fmean(values), 4) if values else None
