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
from dareu.eval.suite import mass_key
from dareu.pipeline import Run

log = logging.getLogger("dareu")


def headline_metrics(run: Run, model: PreTrainedModel, name: str, reward: Any = None) -> dict[str, float]:
    """{forget_rouge, retain_rouge, test_rouge, forget_attribution_mass} of `model` (called `name`),
    plus `forget_attribution_mass_<a>` for each fitted attributor `a` of eval.attributors.

    `reward`: anything with `forget_mass(prompts, responses) -> Tensor (N,)`; by default the run's
    fitted attributor (`DeAttributionReward.from_run(run)`). Pass one to score several models
    without reloading it (the extra attributors are loaded on each call).
    """
    cfg, corpus = run.cfg, run.corpus
    splits = {"forget": corpus.forget, "retain": corpus.retain, "test": corpus.test}
    means, items = rouge_by_split(model, run.tokenizer, splits, run.prompt_text,
                                  cfg.eval.max_new_tokens, cfg.eval.batch_size)
    if reward is None:
        from dareu.reward import DeAttributionReward

        reward = DeAttributionReward.from_run(run)
    answers = [it["answer"] for it in items["forget"]]  # the greedy answers ROUGE just scored
    prompts = [r.prompt for r in corpus.forget]
    mass = reward.forget_mass(prompts, answers)
    means["forget_attribution_mass"] = round(float(mass.float().mean()), 4)
    for attributor in cfg.eval.attributors:
        directory = run.eval_attributor_dir(attributor)
        if attributor == cfg.attributor.name:
            extra = mass
        elif (directory / "attributor.json").is_file():
            from dareu.reward import DeAttributionReward

            extra = DeAttributionReward.from_run(run, directory).forget_mass(prompts, answers)
        else:
            why = f"no fitted `{attributor}` attributor in {directory}"
            log.warning("%s: %s unavailable: %s", name, mass_key(attributor), why)
            means.setdefault("unavailable", {})[mass_key(attributor)] = why
            continue
        means[mass_key(attributor)] = round(float(extra.float().mean()), 4)
    log.info("%s: %s", name, means)
    return means
