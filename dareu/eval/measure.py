"""What one model does on the evaluation sets, measured once and cached per metric group.

Each group (greedy answers, teacher-forced scores, fluency under the oracle, attribution mass)
is one JSON file under `eval/<model>/parts/`, stamped with the hash of everything it depends on;
a rerun with the same model and settings reads it back instead of recomputing, so an evaluation
killed half-way resumes at the group it was in.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from transformers import PreTrainedModel

from dareu.config import config_hash
from dareu.data.corpus import Record
from dareu.distributed import is_rank_zero
from dareu.eval.answers import greedy_answers
from dareu.eval.memorization import extraction_strength
from dareu.eval.mia import mia_min_k
from dareu.scoring import score_responses
from dareu.eval.sets import EvalSets
from dareu.io import atomic_write_json, read_json
from dareu.eval.task import EvalTask

log = logging.getLogger("dareu")


def cached(path: Path | None, key: list[Any], compute: Callable[[], Any]) -> Any:
    """`compute()`, or its stored value when `path` holds one for the same `key` (no cache when
    `path` is None)."""
    if path is None:
        return compute()
    h = config_hash(*key)
    stored = read_json(path)
    if stored and stored.get("key") == h:
        log.info("eval: %s up to date, reused", path.relative_to(path.parents[2]))
        return stored["value"]
    value = compute()
    if is_rank_zero():
        atomic_write_json(path, {"key": h, "value": value})
    return value


def answers(task: EvalTask, model: PreTrainedModel, sets: EvalSets) -> dict[str, list[str]]:
    """Greedy answers per generation split, in the split's record order."""
    e = task.cfg
    return {split: greedy_answers(model, task.tokenizer, [task.prompt_text(r.prompt) for r in recs],
                                  e.max_new_tokens, e.batch_size)
            for split, recs in sets.generation_splits().items() if recs}


def teacher_forced(task: EvalTask, model: PreTrainedModel, sets: EvalSets) -> dict[str, dict[str, list]]:
    """Per split and item: NLL of the true response (+ Min-K%, extraction strength), of the
    paraphrased answer and of each perturbed answer (None where the record has none)."""
    return {split: _score_split(task, model, recs)
            for split, recs in sets.scoring_splits().items() if recs}


def _score_split(task: EvalTask, model: PreTrainedModel, records: list[Record]) -> dict[str, list]:
    prompts = [task.prompt_text(r.prompt) for r in records]
    with_para = [i for i, r in enumerate(records) if r.paraphrased_response]
    with_pert = [(i, t) for i, r in enumerate(records) for t in r.perturbed_responses]
    # one scoring call for all three kinds of answer: fuller batches
    pairs = ([(p, r.response) for p, r in zip(prompts, records)]
             + [(prompts[i], records[i].paraphrased_response) for i in with_para]
             + [(prompts[i], t) for i, t in with_pert])
    s = score_responses(model, task.tokenizer, [p for p, _ in pairs], [t for _, t in pairs],
                        task.max_length, task.cfg.batch_size)
    n, nll = len(records), s.avg_nll.tolist()
    para_nll: list[float | None] = [None] * n
    for j, i in enumerate(with_para):
        para_nll[i] = nll[n + j]
    pert_nll: list[list[float]] = [[] for _ in records]
    for j, (i, _) in enumerate(with_pert):
        pert_nll[i].append(nll[n + len(with_para) + j])
    # Min-K% and extraction strength read the answer without its EOS, as open-unlearning does
    lp, answer = s.token_logps[:n], s.answer_mask[:n]
    return {
        "id": [r.id for r in records],
        "nll": nll[:n],
        "tokens": s.num_tokens[:n].tolist(),
        "min_k": mia_min_k(lp, answer, task.cfg.mia_k).tolist(),
        "es": extraction_strength(s.pred_ids[:n], s.target_ids[:n], answer).tolist(),
        "para_nll": para_nll,
        "pert_nll": pert_nll,
    }


def fluency(task: EvalTask, judge: PreTrainedModel, sets: EvalSets, forget_answers: list[str]
            ) -> dict[str, list]:
    """NLL of the model's greedy forget answers under the judge (the oracle) and their length."""
    prompts = [task.prompt_text(r.prompt) for r in sets.forget]
    s = score_responses(judge, task.tokenizer, prompts, forget_answers, task.max_length,
                        task.cfg.batch_size)
    return {"nll": s.avg_nll.tolist(), "tokens": s.num_tokens.tolist(),
            "words": [len(a.split()) for a in forget_answers]}


def attribution_mass(reward: Any, sets: EvalSets, forget_answers: list[str]) -> list[float]:
    """The mass on the forget owners of each greedy forget answer, under `reward` (anything with
    `forget_mass(prompts, responses)`, e.g. a `DeAttributionReward`)."""
    mass = reward.forget_mass([r.prompt for r in sets.forget], forget_answers)
    return [float(m) for m in mass]
