"""What the TOFU loader should find in a folder: the real TOFU's numbers, and (tests/tofu_fake.py)
the made-up TOFU's, so one test checks either."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TofuShape:
    authors: int                             # in full, 20 QA each
    forget: dict[str, int]                   # authors per split: the last ones of full
    perturbed_retain_rows: int               # retain_perturbed: the first rows of full
    repeated_question_rows: tuple[int, int]  # rows of full asking the same question
    real_authors: int
    world_facts: int
    names: dict[str, str]                    # an owner's full name, for alias checks
    named_without_terms: int                 # forget10 authors named by inference alone, at least


# locuslab/TOFU: 200 authors; "What is the full name of the author?" is asked at rows 100 and 440
REAL = TofuShape(authors=200, forget={"forget01": 2, "forget05": 10, "forget10": 20},
                 perturbed_retain_rows=400, repeated_question_rows=(100, 440),
                 real_authors=100, world_facts=117,
                 names={"author_000": "Jaime Vasquez", "author_180": "Hsiao Yun-Hwa",
                        "author_181": "Carmen Montenegro"},
                 named_without_terms=19)
