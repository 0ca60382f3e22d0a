"""Infer each owner's identifying strings (names) from the owner's own records.

Corpora such as TOFU carry no name column, yet the attributor must not see the names (it would
attribute the echo of a name, not the knowledge). A name is what an owner's records keep repeating
and nobody else's records ever say: a run of 2–4 capitalised words that occurs in a good share of
the owner's prompts and responses and in no other owner's records.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from dareu.data.corpus import Record

# Capitalised words that open sentences or questions rather than name anyone.
STOP_WORDS = frozenset("""
A About Absolutely According Additionally After Again Also Although Among An And Another Any Are As
At Aside Be Because Before Being Besides Both But By Can Certainly Could Despite Did Do Does Due
During Each Either Even Every For Forward From Furthermore Given Had Has Have He Her Here Hers
Herself Him Himself His How However I If In Indeed Into Is It Its Known Like Many Moreover Most
Much My No Nor Not Notably Now Of Often On One Or Other Our Over Overall She Since So Some Such
That The Their Them Then There These They This Those Though Through Throughout To Under Unlike
Upon Was We Were What When Where Whether Which While Who Whom Whose Why Will With Within Without
Would Yes Yet You Your
""".split())

_WORD = re.compile(r"[^\W_][\w'’\-]*", re.UNICODE)
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
# Lower-case name particles allowed between capitalised words ("Isabella van Pletzen").
PARTICLES = frozenset("al bin bint da de del della der di dos du el ibn la le van von y zu".split())


@dataclass(frozen=True)
class _Tok:
    word: str
    start: int
    end: int           # end of the word without its possessive
    capital: bool
    closes: bool       # a possessive ends the name here


_UPPER = "".join(re.escape(chr(c)) for c in range(0x2000) if chr(c).isupper())
_LOWER_WORD = re.compile(
    rf"(?<![\w'’\-])[{''.join(re.escape(chr(c)) for c in range(0x2000) if chr(c).islower())}]"
    r"[\w'’\-]*")
_PARTICLE_RE = "|".join(sorted(PARTICLES, key=len, reverse=True))
# A stretch of text that may hold a run: capitalised words and particles joined by spaces or
# parentheses. Only these stretches are tokenised, which keeps long corpora fast.
_REGION = re.compile(
    rf"(?<![\w'’\-])[{_UPPER}][\w'’\-]*"
    rf"(?:\)? \(?(?:[{_UPPER}][\w'’\-]*|(?:{_PARTICLE_RE})(?![\w'’\-])))*\)?")


def _runs(text: str) -> list[list[_Tok]]:
    """Maximal runs of capitalised words (with name particles and one parenthesised nickname, as in
    "Alejandro (Alex) Fuentes") separated by single spaces; a possessive ends a run."""
    toks = []
    for region in _REGION.finditer(text):
        for m in _WORD.finditer(text, region.start(), region.end()):
            raw = m.group(0).rstrip("-")
            word = _POSSESSIVE.sub("", raw)
            if word:
                toks.append(_Tok(word, m.start(), m.start() + len(word), word[0].isupper(),
                                 word != raw))
        toks.append(None)                        # regions never join
    runs: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for t in toks:
        if t is None:
            if cur:
                runs.append(cur)
            cur = []
            continue
        joins = bool(cur) and not cur[-1].closes and (
            text[cur[-1].end:t.start] in (" ", " (", ") ")
            and (text[cur[-1].end:t.start] != " (" or text[t.end:t.end + 1] == ")"))
        if not joins:
            if cur:
                runs.append(cur)
            cur = []
        if t.capital or (cur and t.word in PARTICLES):
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    out = []
    for run in runs:            # a run neither starts nor ends on a particle
        while run and not run[-1].capital:
            run = run[:-1]
        if run:
            out.append(run)
    return out


def _span(text: str, toks: list[_Tok]) -> str:
    return text[toks[0].start:toks[-1].end]


def _analyse(text: str, max_n: int = 4) -> tuple[set[str], set[str]]:
    """(every span of 1..max_n capitalised words inside a run (particles between them included),
    the candidate names: maximal runs of 2–4 capitalised words once leading stop-like words go)."""
    grams: set[str] = set()
    cands: set[str] = set()
    for run in _runs(text):
        for i, a in enumerate(run):
            if not a.capital:
                continue
            n = 0
            for j in range(i, len(run)):
                if run[j].capital:
                    n += 1
                    if n > max_n:
                        break
                    grams.add(_span(text, run[i:j + 1]))
        while run and (run[0].word in STOP_WORDS or not run[0].capital):
            run = run[1:]
        if 2 <= sum(t.capital for t in run) <= 4:
            cands.add(_span(text, run))
    return grams, cands


def infer_aliases(records_by_owner: Mapping[str, Iterable[Record]],
                  min_fraction: float = 0.3) -> dict[str, list[str]]:
    """Identifying strings of every owner, longest first (an owner with none gets an empty list).

    A span is kept for an owner when it occurs in at least `min_fraction` of the owner's prompts and
    responses and in no other owner's records; the span's last word (the surname) is kept too when
    no other owner's records contain it. Spans made only of words the corpus also writes in lower
    case ("Literary Criticism", "Star Wars") are genre or title words, not names, and are dropped;
    so is a last word the corpus uses as an ordinary word.
    """
    texts: dict[str, list[str]] = {
        owner: [t for r in recs for t in (r.prompt, r.response) if t]
        for owner, recs in records_by_owner.items()}
    analysed = {owner: [_analyse(t) for t in ts] for owner, ts in texts.items()}
    grams_per_text = {owner: [g for g, _ in a] for owner, a in analysed.items()}
    owners_of: dict[str, set[str]] = defaultdict(set)
    for owner, sets in grams_per_text.items():
        for s in sets:
            for g in s:
                owners_of[g].add(owner)

    common = lowercase_words(t for ts in texts.values() for t in ts)

    def ordinary(word: str) -> bool:
        return word in STOP_WORDS or word.lower() in common

    aliases: dict[str, list[str]] = {}
    for owner, ts in texts.items():
        need = min_fraction * len(ts)
        cands = set().union(*(c for _, c in analysed[owner]))
        kept: list[str] = []
        for span in cands:
            if owners_of.get(span, set()) != {owner}:
                continue
            if all(ordinary(w) for w in span.split() if w[0].isupper()):
                continue
            if sum(span in s for s in grams_per_text[owner]) >= need:
                kept.append(span)
        for span in list(kept):
            last = span.split()[-1]
            if not ordinary(last) and owners_of.get(last, set()) == {owner}:
                kept.append(last)
        aliases[owner] = sorted(set(kept), key=lambda s: (-len(s), s))
    return aliases


def looks_like_person_name(term: str, common_words: set[str] | None = None) -> bool:
    """2–4 capitalised words, no stop-like words, no digits or punctuation but `-` / `'`; and, when
    `common_words` (every word the corpus writes in lower case) is given, no word that the corpus
    also uses as an ordinary word ("Historical Fiction", "Leadership Literature Luminary")."""
    words = term.split()
    if not 2 <= len(words) <= 4:
        return False
    for w in words:
        if not re.fullmatch(r"[^\W\d_][\w'’\-]*", w) or not w[0].isupper() or w in STOP_WORDS:
            return False
        if any(c.isdigit() or c == "_" for c in w):
            return False
        if common_words is not None and w.lower() in common_words:
            return False
    return True


def lowercase_words(texts: Iterable[str]) -> set[str]:
    """Every word that some text writes starting with a lower-case letter."""
    return set(_LOWER_WORD.findall("\n".join(texts)))
