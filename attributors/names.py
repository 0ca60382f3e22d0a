"""The attributor names a recipe lists (`attributor.name`, `eval.attributors`), checked against the
registry. The config checks what it can read alone (names, each once) when it loads; it sits below
the attributors, so this lookup runs in preflight, before any stage."""

from __future__ import annotations

import difflib

from attributors.base import AttributorError, available_attributors, get_attributor_class
from dareu.config.attributor import _check_attributor_names
from dareu.errors import ConfigError


def check_attributor_names(key: str, names: list[str]) -> None:
    """Every name a registered attributor (built-in, decorated or entry point) or an importable
    `package.module:Class`; no name twice."""
    if not names:
        return
    _check_attributor_names(key, names)
    known = available_attributors()
    shown = names[0] if key.endswith(".name") else names  # one name, or a list of them
    for name in names:
        if name in known:
            continue
        if ":" in name:  # an import path: resolving it is the only way to know it exists
            try:
                get_attributor_class(name)
                continue
            except AttributorError as e:
                raise ConfigError(f"{key}={shown!r} is invalid: {e}") from None
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{key}={shown!r} is invalid: {name!r} is not a known attributor.{hint} "
                          f"Expected names drawn from {', '.join(known)} (or import paths "
                          "`package.module:Class`).")
