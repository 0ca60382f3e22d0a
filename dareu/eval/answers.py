"""Greedy answers of a model to records' prompts, and their ROUGE-L recall against the truth."""

from __future__ import annotations

from statistics import fmean
from typing import Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from dareu.data.corpus import Record
from dareu.eval.metrics import rouge_l_recall
from dareu.generation import generate


def greedy_answers(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt_texts: list[str],
                   max_new_tokens: int, batch_size: int) -> list[str]:
    return generate(model, tokenizer, prompt_texts, max_new_tokens, batch_size)


def rouge_by_split(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                   splits: dict[str, Sequence[Record]], prompt_text, max_new_tokens: int,
                   batch_size: int) -> tuple[dict[str, float], dict[str, list]]:
    """Mean ROUGE-L recall per split (`{split}_rouge`) and the per-item answers and scores."""
    means, items = {}, {}
    for split, records in splits.items():
        if not records:
            continue
        answers = greedy_answers(model, tokenizer, [prompt_text(r.prompt) for r in records],
                                 max_new_tokens, batch_size)
        scores = rouge_l_recall(answers, [r.response for r in records])
        means[f"{split}_rouge"] = round(fmean(scores), 4)
        items[split] = [{"id": r.id, "answer": a, "rouge": s}
                        for r, a, s in zip(records, answers, scores)]
    return means, items
