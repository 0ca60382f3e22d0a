"""The four headline numbers of an unlearned model: ROUGE on forget / retain / test, forget mass.

`forget_attribution_mass` is the paper's own target quantity: the attributor's mean mass on the
forget owners for the model's greedy answers to the forget owners' questions (the oracle's value is
the floor that "zeroed out" means). Each attributor of `eval.attributors` adds the same mean under
that attributor, as `forget_attribution_mass_<name>`.
"""

from __future__ import annotations

import logging
from typing import Any

from transformers import PreTrainedModel

from dareu.eval.answers import rouge_by_split
from dareu.eval.suite import MASS, EvaluationError, mass_key
from dareu.eval.task import EvalTask

log = logging.getLogger("dareu")


def headline_metrics(task: EvalTask, model: PreTrainedModel, name: str,
                     reward: Any = None) -> dict[str, float]:
    """{forget_rouge, retain_rouge, test_rouge, forget_attribution_mass} of `model` (called `name`),
    plus `forget_attribution_mass_<a>` for each available attributor `a` of `task.extra_mass`.

    `reward`: anything with `forget_mass(prompts, responses) -> Tensor (N,)`; by default the task's
    reward attributor (`task.mass`). Pass one to score several models without reloading it (the
    extra attributors are loaded on each call).
    """
    return headline_and_answers(task, model, name, reward)[0]


def headline_and_answers(task: EvalTask, model: PreTrainedModel, name: str,
                         reward: Any = None) -> tuple[dict[str, float], list[str]]:
    """`headline_metrics`, and the greedy forget answers they were measured on (in corpus order)."""
    corpus = task.corpus
    splits = {"forget": corpus.forget, "retain": corpus.retain, "test": corpus.test}
    means, items = rouge_by_split(model, task.tokenizer, splits, task.prompt_text,
                                  task.cfg.max_new_tokens, task.cfg.batch_size)
    if reward is None:
        if task.mass is None or task.mass.load is None:
            why = task.mass.missing if task.mass else "not given"
            raise EvaluationError(f"{name}: no reward to measure {MASS} with: pass `reward` or set "
                                  f"task.mass ({why}).")
        reward = task.mass.load()
    answers = [it["answer"] for it in items["forget"]]  # the greedy answers ROUGE just scored
    prompts = [r.prompt for r in corpus.forget]
    mass = reward.forget_mass(prompts, answers)
    means[MASS] = round(float(mass.float().mean()), 4)
    for attributor, fitted in task.extra_mass.items():
        if fitted is task.mass:
            extra = mass
        elif fitted.load is not None:
            extra = fitted.load().forget_mass(prompts, answers)
        else:
            log.warning("%s: %s unavailable: %s", name, mass_key(attributor), fitted.missing)
            means.setdefault("unavailable", {})[mass_key(attributor)] = fitted.missing
            continue
        means[mass_key(attributor)] = round(float(extra.float().mean()), 4)
    log.info("%s: %s", name, means)
    return means, answers
