"""The degenerate-text guard of the DareU reward: a fluency penalty under the reference model.

An attributor only says whose knowledge a text carries; text that carries nobody's (empty answers,
one token repeated, letter soup, shuffled words) scores as little forget mass as a good answer
does. The reference model (the target before unlearning) tells them apart: it finds a fluent
answer, true or false, far more likely per token than any of those. So the penalty is

    nll(y)     = − mean_t log π_ref(y_t | x, y_<t)               (per-token NLL of response y)
    penalty(y) = clamp((nll(y) − τ) / w, 0, 1)                     τ = threshold, w = width
    penalty(y) = 1                                                 if y has < min_tokens tokens

and the reward is r(y) = −mass(y) − weight · penalty(y). The threshold is relative to the
reference's own fluency, τ = median nll of the reference's sampled answers + margin, so an
under-trained reference (everything unlikely) and an over-trained one (its memorised answers
near 0 nats) are judged on their own scale. Answers more fluent than τ pay nothing, so the guard
never pulls the policy back towards the target's own (memorised) answers.

A target that memorised its forget answers puts its own at ~0 nats per token, and then even the
oracle's fluent answers (other facts, several nats) look degenerate. DareU therefore
measures τ on *foreign* answers: retain owners' answers after the forget prompts, fluent
text the model knows that answers another question (`foreign_answers`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def response_nll(ref_logp: Tensor, mask: Tensor) -> Tensor:
    """Mean per-token NLL of each response under the reference: ref_logp, mask (N, R) -> (N,);
    a response with no token gets +inf (it is penalised as empty anyway)."""
    m = mask.to(ref_logp.dtype)
    n = m.sum(1)
    nll = -(ref_logp * m).sum(1) / n.clamp(min=1)
    return nll.masked_fill(n == 0, float("inf"))


def fluency_threshold(own_nll: Tensor, margin: float) -> float:
    """τ from the per-token NLL (N,) of the reference's own sampled answers: median + margin
    (responses without a token are left out)."""
    finite = own_nll[torch.isfinite(own_nll)]
    return (float(finite.median()) if finite.numel() else 0.0) + margin


def fluency_penalty(nll: Tensor, lengths: Tensor, threshold: float, width: float = 2.0,
                    min_tokens: int = 2) -> Tensor:
    """(N,) penalty in [0, 1] from per-token NLL (N,) and response lengths (N,) in tokens (EOS
    included): 0 when nll <= threshold, rising linearly to 1 at threshold + width; 1 for responses
    shorter than `min_tokens`."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    p = ((nll - threshold) / width).clamp(0, 1)
    return p.masked_fill(lengths < min_tokens, 1.0)


FOREIGN_LIMIT = 256  # forget prompts the foreign anchor reads at most: a median needs no more


def uses_foreign_anchor(anchor: str, retain_answers: Sequence[str]) -> bool:
    """Whether τ is measured on foreign answers: `fluency_anchor=foreign` and retain answers to
    borrow; otherwise (`own`, or a corpus without retain answers) on the judge's own samples."""
    return anchor == "foreign" and len(retain_answers) > 0


def foreign_answers(retain_answers: Sequence[str], n_prompts: int, seed: int) -> list[str]:
    """Retain answers in a seeded order (cycled when there are fewer), one for each of the first
    min(n_prompts, FOREIGN_LIMIT) forget prompts: the anchor of `fluency_anchor=foreign`."""
    order = torch.randperm(len(retain_answers), generator=torch.Generator().manual_seed(seed)).tolist()
    return [retain_answers[order[i % len(order)]] for i in range(min(n_prompts, FOREIGN_LIMIT))]
