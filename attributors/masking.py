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
