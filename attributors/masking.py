"""Replace owners' identifying strings with a placeholder, so attribution keys on knowledge.

A model retrained without an owner still echoes the owner's name from the question; an attributor
that keys on names could never reach zero. Every attributor sees masked text at fit and score time.
"""

from __future__ import annotations

import re
from typing import Iterable


class AliasMasker:
    """Case-insensitive, whole-word replacement of every alias (longest first)."""

    def __init__(self, aliases: dict[str, list[str]] | Iterable[str], placeholder: str = "[OWNER]",
                 enabled: bool = True) -> None:
        strings = ({a for v in aliases.values() for a in v} if isinstance(aliases, dict)
                   else set(aliases))
        strings = sorted((s for s in strings if s and s.strip()), key=len, reverse=True)
        self.placeholder, self.enabled = placeholder, enabled and bool(strings)
        self.pattern = (re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in strings)
                                   + r")(?:'s|’s)?(?!\w)", re.IGNORECASE) if self.enabled else None)

    def __call__(self, text: str) -> str:
        if not self.enabled:
            return text
        masked = self.pattern.sub(self.placeholder, text)
        # "[OWNER] [OWNER]" (first + last name matched separately) collapses to one placeholder
        rep = re.escape(self.placeholder)
        return re.sub(rf"{rep}(?:\s+{rep})+", self.placeholder, masked)

    def many(self, texts: Iterable[str]) -> list[str]:
        return [self(t) for t in texts]

    def finds(self, text: str) -> bool:
        """Whether `text` writes any of the aliases (case-insensitive, whole words)."""
        return bool(self.enabled and self.pattern.search(text))

    @classmethod
    def from_config(cls, aliases: dict[str, list[str]], cfg) -> "AliasMasker":
        """The masker an `AttributorConfig` asks for (`mask_aliases`, `placeholder`)."""
        return cls(aliases, cfg.placeholder, enabled=cfg.mask_aliases)


def mask_corpus(corpus, masker: AliasMasker):
    """A copy of `corpus` whose prompts, responses, paraphrases and perturbed answers are masked
    (training records, holdout records and test sets alike); ids and owners are unchanged."""
    from dataclasses import replace

    from dareu.data.corpus import OwnerCorpus

    def rec(r):
        return replace(r, prompt=masker(r.prompt), response=masker(r.response),
                       paraphrased_response=_opt(masker, r.paraphrased_response),
                       paraphrased_prompt=_opt(masker, r.paraphrased_prompt),
                       perturbed_responses=tuple(masker.many(r.perturbed_responses)))

    return OwnerCorpus(name=corpus.name, records=[rec(r) for r in corpus.records],
                       forget_owners=list(corpus.forget_owners),
                       retain_owners=list(corpus.retain_owners),
                       holdout=[rec(r) for r in corpus.holdout],
                       test_sets={k: [rec(r) for r in v] for k, v in corpus.test_sets.items()},
                       aliases={k: list(v) for k, v in corpus.aliases.items()})


def _opt(masker: AliasMasker, text: str | None) -> str | None:
    return masker(text) if text is not None else None
