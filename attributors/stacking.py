"""Stacking: how much each expert's logits count, learnt on texts the experts were not fitted on.

A `fraction` of the training texts (paraphrases when the corpus has them, as the held-out
evaluation does; else responses) is set aside per owner (attributors.evaluation.stacking_split);
the experts are fitted on the rest, and non-negative weights w maximise the likelihood of
softmax(Σ_e w_e · logits_e) on the set-aside texts. An overconfident expert that does not
generalise on a corpus (the from-scratch transformer on TOFU) gets a small weight there, and a
large one where it does (the synthetic quickstart). The caller then refits the experts on all
texts.
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping, Sequence

import torch

from attributors.evaluation import OwnerText, stacking_split
from attributors.expert import Expert

log = logging.getLogger("dareu")


def stack(experts: Mapping[str, Expert], texts: list[OwnerText],
          read: Callable[[list[OwnerText]], list[str]], fraction: float, seed: int
          ) -> list[float] | None:
    """The experts' weights, in their order; None when no text can be set aside (the logits then
    count 1 each). `read` turns owner texts into what the experts see. Leaves the experts fitted
    on the texts that were not set aside."""
    inner, val = stacking_split(texts, fraction, seed)
    if not val:
        log.info("classifier attributor: no text to stack on; experts weighted 1 each")
        return None
    seen, labels = read(inner), [t.label for t in inner]
    for expert in experts.values():
        expert.fit(seen, labels)
    held = read(val)
    parts = [expert.logits(held) for expert in experts.values()]                # E × (n, K)
    return fit_weights(parts, torch.tensor([t.label for t in val], dtype=torch.long))


def fit_weights(parts: Sequence[torch.Tensor], labels: torch.Tensor) -> list[float]:
    """Non-negative w (softplus of free parameters, from softplus(0)) minimising the cross-entropy
    of Σ_e w_e · parts[e] against `labels`, by L-BFGS."""
    stacked = torch.stack(list(parts))                                            # (E, n, K)
    raw = torch.zeros(len(parts), requires_grad=True)
    opt = torch.optim.LBFGS([raw], max_iter=100)

    def closure():
        opt.zero_grad()
        w = torch.nn.functional.softplus(raw)
        loss = torch.nn.functional.cross_entropy((w[:, None, None] * stacked).sum(0), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return torch.nn.functional.softplus(raw).detach().tolist()
