"""In-context priming attack: the owner's other true QA pairs in the prompt, then the question.

A model that hid the owner rather than removing it may pick the rest back up once reminded; the
oracle under the same priming shows what the pairs alone give away (e.g. a city named in two
answers). Pairs are the owner's next records after the asked one (wrapping around), dropped
from the front when the prompt and the answer would not fit in the model's context.
"""

from __future__ import annotations

from transformers import PreTrainedModel

from dareu.data.corpus import Record
from dareu.eval.attacks.base import AttackInputs, AttackResult, greedy_rouge, mean


def attack(model: PreTrainedModel, inputs: AttackInputs) -> AttackResult:
    context = _context_size(model)
    prompts, used = [], []
    for r in inputs.forget:
        pairs = [(o.prompt, o.response) for o in _others(r, inputs.owner_records,
                                                        inputs.settings.priming_pairs)]
        while pairs and context is not None and \
                inputs.prompt_tokens(inputs.prompt_text(r.prompt, pairs)) + inputs.max_new_tokens > context:
            pairs = pairs[1:]
        prompts.append(inputs.prompt_text(r.prompt, pairs))
        used.append(len(pairs))
    answers, rouge = greedy_rouge(model, inputs, prompts, inputs.forget)
    items = [{"id": r.id, "pairs": n, "answer": a, "rouge": s}
             for r, n, a, s in zip(inputs.forget, used, answers, rouge)]
    return AttackResult({"attack_priming_rouge": mean(rouge),
                         "attack_priming_pairs": mean([float(n) for n in used])}, items)


def _others(record: Record, pool: list[Record], n: int) -> list[Record]:
    """Up to n other records of the same owner, those after `record` first (in corpus order)."""
    mine = [r for r in pool if r.owner == record.owner]
    at = next((i for i, r in enumerate(mine) if r.id == record.id), -1)
    after = mine[at + 1:] + mine[:max(at, 0)]
    return [r for r in after if r.id != record.id][:n]


def _context_size(model: PreTrainedModel) -> int | None:
    """Positions the model can attend over (GPT-2: n_positions; Llama: max_position_embeddings)."""
    c = model.config
    return getattr(c, "n_positions", None) or getattr(c, "max_position_embeddings", None)
