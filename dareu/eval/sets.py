"""The evaluation sets: forget, retain, each general test set, and holdout (MIA non-members).

Every model is evaluated on exactly the same items, so per-item results line up by record id
across target, oracle and methods (forget quality compares the two truth-ratio samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from dareu.data.corpus import OwnerCorpus, Record

# open-unlearning's metric-key prefixes of TOFU's test sets; other sets keep their own name
TEST_PREFIX = {"real_authors": "ra", "world_facts": "wf"}


@dataclass
class EvalSets:
    forget: list[Record]
    retain: list[Record]
    tests: dict[str, list[Record]]
    """Keyed by metric prefix (`ra`, `wf`, or the test set's own name, e.g. `general`)."""
    holdout: list[Record]

    def generation_splits(self) -> dict[str, list[Record]]:
        """The splits whose greedy answers are scored with ROUGE."""
        return {"forget": self.forget, "retain": self.retain, **self.tests}

    def scoring_splits(self) -> dict[str, list[Record]]:
        """The splits scored teacher-forced (holdout only for membership inference)."""
        return {**self.generation_splits(), "holdout": self.holdout}


def spread(records: Sequence[Record], max_items: int | None) -> list[Record]:
    """At most `max_items` records, evenly spaced, so a cap still spans every owner."""
    if max_items is None or len(records) <= max_items:
        return list(records)
    step = len(records) / max_items
    return [records[int(i * step)] for i in range(max_items)]


def eval_sets(corpus: OwnerCorpus, max_items: int | None) -> EvalSets:
    # TOFU scores the retain set on retain_perturbed (the rows with perturbed answers); a corpus
    # without such rows is scored on all its retain records
    retain = [r for r in corpus.retain if r.perturbed_responses] or corpus.retain
    tests = {TEST_PREFIX.get(name, name): spread(rs, max_items)
             for name, rs in corpus.test_sets.items() if rs}
    return EvalSets(forget=spread(corpus.forget, max_items), retain=spread(retain, max_items),
                    tests=tests, holdout=spread(corpus.holdout, max_items))
