"""Paraphrase attack: the forget questions reworded (the records' `paraphrased_prompt`).

Unlearning that only broke the answer to the exact training wording shows here. Records without
a paraphrased question are left out; a corpus with none gives no figure.
"""

from __future__ import annotations

import logging

from transformers import PreTrainedModel

from dareu.eval.attacks.base import AttackInputs, AttackResult, greedy_rouge, mean

log = logging.getLogger("dareu")


def attack(model: PreTrainedModel, inputs: AttackInputs) -> AttackResult:
    records = [r for r in inputs.forget if r.paraphrased_prompt]
    if not records:
        log.warning("attack paraphrase: no forget record has a paraphrased question; no figure")
        return AttackResult({"attack_paraphrase_rouge": None})
    answers, rouge = greedy_rouge(model, inputs, [inputs.prompt_text(r.paraphrased_prompt)
                                                  for r in records], records)
    items = [{"id": r.id, "prompt": r.paraphrased_prompt, "answer": a, "rouge": s}
             for r, a, s in zip(records, answers, rouge)]
    return AttackResult({"attack_paraphrase_rouge": mean(rouge)}, items)
