"""The attributor names a recipe lists (`attributor.name`, `eval.attributors`), checked against the
registry. The config checks what it can read alone (names, each once) when it loads; it sits below
the attributors, so this lookup runs in preflight, before any stage."""

from __future__ import annotations

from attributors.base import AttributorError, get_attributor_class
from dareu.config.attributor import _check_attributor_names
from dareu.errors import ConfigError


def check_attributor_names(key: str, names: list[str]) -> None:
    """Every name a registered attributor (built-in, decorated or entry point) or an importable
    `package.module:Class`; no name twice. An error names `key`, its value and the closest name."""
    if not names:
        return
    _check_attributor_names(key, names)
    shown = names[0] if key.endswith(".name") else names  # one name, or a list of them
    for name in names:
        try:
            get_attributor_class(name, key, shown)
        except AttributorError as e:  # a recipe mistake: the config's error class
            raise ConfigError(str(e)) from None
