"""The `attributor` section, and the attributor names other sections list (slugs, checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dareu.config.checks import _check


def attributor_slug(name: str) -> str:
    """An attributor name as it appears in file names and summary keys: a registered name stays
    as it is (`influence`); an import path `pkg.mod:Class` becomes `pkg_mod_Class`."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "attributor"


def _check_attributor_names(key: str, names: list[str]) -> None:
    """Every name a non-empty string; no name twice. Whether each names an attributor is the
    registry's to say (attributors.names, run by preflight): config imports no attributor."""
    for name in names:
        _check(isinstance(name, str) and name != "", key, names, "a list of attributor names")
    slugs = [attributor_slug(n) for n in names]
    twice = sorted({n for n, s in zip(names, slugs) if slugs.count(s) > 1})
    _check(not twice, key, names, f"each attributor once (repeated: {', '.join(twice)})")


@dataclass
class AttributorConfig:
    """Which attributor scores owner attribution, and what text it sees."""

    name: str = "classifier"
    """Registered attributor name (classifier, influence, trak, or one from an entry point)."""
    mask_aliases: bool = True
    """Replace every owner's identifying strings with `placeholder` before attributing, so the
    attributor attributes knowledge rather than the echo of a name from the prompt."""
    placeholder: str = "[OWNER]"
    sees: str = "response"
    """What the attributor reads: `response` or `prompt+response`."""
    options: dict[str, Any] = field(default_factory=dict)
    """Options of the chosen attributor, validated against its own config dataclass."""

    def __post_init__(self) -> None:
        _check(self.sees in ("response", "prompt+response"), "attributor.sees", self.sees,
               "response or prompt+response")
