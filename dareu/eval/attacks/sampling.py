"""Sampling attack: greedy answers can look forgotten while samples at temperature 1 still leak.

k answers are sampled per forget prompt; a prompt counts by its best sample (ROUGE-L recall
against the true answer), and as a hit when that best sample reaches HIT_ROUGE.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

from dareu.eval.attacks.base import AttackInputs, AttackResult, mean
from dareu.eval.metrics import rouge_l_recall
from dareu.generation import generate

HIT_ROUGE = 0.9


def attack(model: PreTrainedModel, inputs: AttackInputs) -> AttackResult:
    k, records = inputs.settings.samples, inputs.forget
    prompts = [inputs.prompt_text(r.prompt) for r in records for _ in range(k)]
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(inputs.seed)  # the same draws for every model of a run
        samples = generate(model, inputs.tokenizer, prompts, inputs.max_new_tokens,
                           inputs.batch_size, do_sample=True, temperature=1.0)
    truths = [r.response for r in records for _ in range(k)]
    rouge = rouge_l_recall(samples, truths)
    items = []
    for i, r in enumerate(records):
        scores = rouge[i * k:(i + 1) * k]
        best = max(range(k), key=scores.__getitem__)
        items.append({"id": r.id, "best_rouge": scores[best], "best_sample": samples[i * k + best],
                      "rouge": scores})
    best = [it["best_rouge"] for it in items]
    return AttackResult({"attack_sampling_rouge": mean(best),
                         "attack_sampling_hit": mean([float(b >= HIT_ROUGE) for b in best])}, items)
