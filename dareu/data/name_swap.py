"""Copies of pretraining records whose owners' names are replaced by made-up ones.

A pretrained LLM retrained without an author still writes the author's name when the question
names them ("Where was Basil Mahfouz Al-Kuwaiti born?" -> "Basil Mahfouz Al-Kuwaiti was born in
..."): it copies the name from the prompt. A tiny model pretrained on a few thousand QA never learns
to: it writes a name it memorised, so a tiny oracle never names an unseen author and a benchmark
scored against it charges every answer that keeps the name. In these copies each owner's name is
new every time, so the only way to predict it in the answer is to copy it from the question.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace

from dareu.data.aliases import infer_aliases
from dareu.data.corpus import Record

_ONSETS = "b c d f g h j k l m n p r s t v z br ch dr gr kr pr sh st th tr".split()
_VOWELS = "a e i o u ai ei ia io ou".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "k", "m", "v", "th", "nd"]


def made_up_word(rng: random.Random) -> str:
    """A pronounceable capitalised word of 2–3 syllables that is nobody's name in the corpus
    (with overwhelming probability); BPE splits it into varied sub-word pieces, so the copying
    learnt on it carries over to names made of pieces the base never saw."""
    syllables = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3))]
    return ("".join(syllables) + rng.choice(_CODAS)).capitalize()


def _names_pattern(names: list[str]) -> re.Pattern:
    # longest names first, so "Basil Mahfouz" is replaced whole, not word by word
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def _swap(text: str, pattern: re.Pattern, words: dict[str, str]) -> str:
    return pattern.sub(lambda m: " ".join(words[w] for w in m.group(0).split(" ")), text)


def name_swapped(records: list[Record], copies: int, seed: int) -> list[Record]:
    """`copies` copies of `records`; in each, every owner's inferred names are replaced word by word
    with made-up words (one mapping per owner and copy, so "Basil Mahfouz Al-Kuwaiti" and
    "Al-Kuwaiti" stay consistent). Records of owners without an inferred name are copied as they
    are. Seeded: the same records, copies and seed give the same text."""
    by_owner: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_owner[r.owner].append(r)
    aliases = infer_aliases(by_owner)
    patterns = {owner: _names_pattern(names) for owner, names in aliases.items() if names}
    rng = random.Random(f"name-swap-{seed}")
    out: list[Record] = []
    for copy in range(copies):
        words = {owner: {w: made_up_word(rng) for name in names for w in name.split(" ")}
                 for owner, names in sorted(aliases.items()) if names}
        for r in records:
            pattern = patterns.get(r.owner)
            if pattern is None:
                out.append(replace(r, id=f"{r.id}-swap{copy}"))
                continue
            w = words[r.owner]
            out.append(replace(r, id=f"{r.id}-swap{copy}", prompt=_swap(r.prompt, pattern, w),
                               response=_swap(r.response, pattern, w),
                               paraphrased_response=None, perturbed_responses=(),
                               paraphrased_prompt=None))
    return out


def unknown_people(retain: list[Record], holdout: list[Record], seed: int | None,
                   limit: int = 64) -> list[Record]:
    """Questions about people a model trained on `retain` (and the forget owners) does not know:
    holdout owners' questions first, then retain questions whose owner's name was swapped for a
    made-up one (those whose question names the owner). At most `limit`, drawn seeded across
    owners; empty when there is neither."""
    swapped = [s for r, s in zip(retain, name_swapped(retain, 1, seed or 0)) if s.prompt != r.prompt]
    rng = random.Random(f"unknown-people-{seed or 0}")
    picked = rng.sample(holdout, min(limit, len(holdout)))
    return picked + rng.sample(swapped, min(limit - len(picked), len(swapped)))
