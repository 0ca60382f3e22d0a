"""Owner-labelled texts for fitting an attributor, and the held-out texts that measure it.

A held-out text must say an owner's facts in words the attributor never trained on. Where a record
has a paraphrased response (synthetic, TOFU), the paraphrase is that text: the attributor trains on
the response and is asked to recognise the same facts re-worded. A record without one keeps its
response out of training instead.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

import torch

from dareu.data.corpus import OwnerCorpus

Kind = Literal["response", "paraphrase", "generation"]


@dataclass(frozen=True)
class OwnerText:
    """One text labelled with the index of its owner in `corpus.owners`."""

    prompt: str
    text: str
    label: int
    kind: Kind


def split_owner_texts(corpus: OwnerCorpus, holdout_fraction: float, use_paraphrases: bool,
                      seed: int) -> tuple[list[OwnerText], list[OwnerText]]:
    """(train, heldout) over the corpus's owners.

    Per owner, a seeded `holdout_fraction` of its records are evaluation records: their paraphrase
    (or, lacking one, their response) is held out. Every other record contributes its response, and
    its paraphrase too when `use_paraphrases`. An owner never loses its last training text.
    """
    index = {o: i for i, o in enumerate(corpus.owners)}
    rng = random.Random(seed)
    train: list[OwnerText] = []
    heldout: list[OwnerText] = []
    for owner in corpus.owners:
        records = corpus.of([owner])
        order = list(range(len(records)))
        rng.shuffle(order)
        n_eval = round(holdout_fraction * len(records))
        if n_eval == len(records) and not all(r.paraphrased_response for r in records):
            n_eval -= 1  # keep one response to train on
        evaluated = set(order[:n_eval])
        for j, r in enumerate(records):
            label = index[owner]
            para_prompt = r.paraphrased_prompt or r.prompt
            response = OwnerText(r.prompt, r.response, label, "response")
            para = (OwnerText(para_prompt, r.paraphrased_response, label, "paraphrase")
                    if r.paraphrased_response else None)
            if j in evaluated:
                if para is not None:
                    train.append(response)
                    heldout.append(para)
                else:
                    heldout.append(response)
            else:
                train.append(response)
                if para is not None and use_paraphrases:
                    train.append(para)
    return train, heldout


def stacking_split(texts: list[OwnerText], fraction: float, seed: int
                   ) -> tuple[list[OwnerText], list[OwnerText]]:
    """(fit, validation) of training texts for stacking, per owner and seeded: a `fraction` of
    each owner's paraphrases (its responses, when it has no paraphrase) is set aside, so the
    validation texts are new wordings as in the held-out evaluation; an owner keeps at least one
    text to fit on."""
    rng = random.Random(seed + 1)
    by_owner: dict[int, list[int]] = {}
    for i, t in enumerate(texts):
        by_owner.setdefault(t.label, []).append(i)
    val: set[int] = set()
    for label, idx in by_owner.items():
        paras = [i for i in idx if texts[i].kind == "paraphrase"]
        pool = paras or idx
        k = min(math.ceil(fraction * len(pool)), len(idx) - 1)
        val.update(rng.sample(pool, max(k, 0)))
    return ([t for i, t in enumerate(texts) if i not in val],
            [t for i, t in enumerate(texts) if i in val])


def heldout_metrics(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Top-1 accuracy, macro-F1 and expected calibration error (15 bins) of (N, K) probabilities.

    Macro-F1 averages over the owners that occur among labels or predictions.
    """
    from torchmetrics.functional.classification import (multiclass_accuracy,
                                                        multiclass_calibration_error,
                                                        multiclass_f1_score)

    k = probs.shape[1]
    probs, labels = probs.float().cpu(), labels.long().cpu()
    return {
        "heldout_accuracy": round(float(multiclass_accuracy(probs, labels, k, average="micro")), 4),
        "heldout_macro_f1": round(float(multiclass_f1_score(probs, labels, k, average="macro")), 4),
        "heldout_ece": round(float(multiclass_calibration_error(probs, labels, k, n_bins=15)), 4),
        "heldout_texts": int(labels.numel()),
    }
