"""Relearning attack: finetune a copy of the model on half of the forget owners' QA for a few
steps, then ask the other half.

The oracle goes through the same attack: it learns the half it is shown but cannot infer the
unseen half of an owner's fictitious facts, so whatever a model recovers beyond the oracle on the
unseen half is knowledge unlearning hid rather than removed.
"""

from __future__ import annotations

import copy
import random

import lightning as L
import torch
from transformers import PreTrainedModel

from dareu.data.corpus import Record
from dareu.data.modules import qa_loader
from dareu.errors import DareUError
from dareu.eval.attacks.base import AttackInputs, AttackResult, greedy_rouge, mean
from dareu.finetune import FinetuneModule


class RelearnModule(FinetuneModule):
    """Finetuning at a constant learning rate: a few steps leave no room for a schedule."""

    def configure_optimizers(self):
        return torch.optim.AdamW([p for p in self.parameters() if p.requires_grad], lr=self.lr)


def split_halves(records: list[Record], seed: int) -> tuple[list[Record], list[Record]]:
    """(shown, unseen): each owner's records shuffled with `seed`, the first half shown (an owner
    with one record has it unseen). Both keep the corpus order."""
    rng = random.Random(seed)
    shown: set[str] = set()
    for owner in dict.fromkeys(r.owner for r in records):
        ids = [r.id for r in records if r.owner == owner]
        rng.shuffle(ids)
        shown.update(ids[:len(ids) // 2])
    return [r for r in records if r.id in shown], [r for r in records if r.id not in shown]


def attack(model: PreTrainedModel, inputs: AttackInputs) -> AttackResult:
    shown, unseen = split_halves(inputs.forget, inputs.seed)
    if not shown:
        raise DareUError("eval.attacks: relearn needs at least two forget records of one owner "
                         "(half to relearn on, half to ask), but every forget owner has one.")
    before, before_rouge = greedy_rouge(model, inputs, _prompts(inputs, unseen), unseen)
    relearned = relearn(model, shown, inputs)
    answers, rouge = greedy_rouge(relearned, inputs, _prompts(inputs, unseen), unseen)
    _, shown_rouge = greedy_rouge(relearned, inputs, _prompts(inputs, shown), shown)  # it took?
    del relearned
    mass = (list(inputs.forget_mass([r.prompt for r in unseen], answers))
            if inputs.forget_mass else [None] * len(unseen))
    items = [{"id": r.id, "answer": a, "rouge": s, "rouge_before": b, "mass": m}
             for r, a, s, b, m in zip(unseen, answers, rouge, before_rouge, mass)]
    return AttackResult({"attack_relearn_rouge": mean(rouge),
                         "attack_relearn_rouge_before": mean(before_rouge),
                         "attack_relearn_rouge_shown": mean(shown_rouge),
                         "attack_relearn_mass": mean(mass) if inputs.forget_mass else None,
                         "attack_relearn_shown": len(shown)}, items)


def relearn(model: PreTrainedModel, shown: list[Record], inputs: AttackInputs) -> PreTrainedModel:
    """A copy of `model` finetuned for settings.relearn_steps steps on `shown` (every weight;
    the model itself is left as it was)."""
    copy_ = copy.deepcopy(model)
    for p in copy_.parameters():
        p.requires_grad_(p.is_floating_point())
    copy_.train()
    device = next(copy_.parameters()).device
    loader = qa_loader(shown, inputs.tokenizer, inputs.template, inputs.max_length,
                       inputs.relearn_batch_size, inputs.seed, chat_template=inputs.chat_template)
    trainer = L.Trainer(max_steps=inputs.settings.relearn_steps, max_epochs=-1,
                        accelerator="cuda" if device.type == "cuda" else "cpu",
                        devices=[device.index or 0] if device.type == "cuda" else 1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(inputs.seed)
        trainer.fit(RelearnModule(copy_, inputs.relearn_lr), train_dataloaders=loader)
    return copy_.eval()


def _prompts(inputs: AttackInputs, records: list[Record]) -> list[str]:
    return [inputs.prompt_text(r.prompt) for r in records]
