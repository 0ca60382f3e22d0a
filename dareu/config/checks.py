"""The two checks every recipe section validates its fields with; a failure is a `ConfigError`
that names the key, the value and what was expected."""

from __future__ import annotations

from typing import Any

from dareu.errors import ConfigError


def _check(cond: bool, key: str, value: Any, expected: str) -> None:
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}.")


def _positive(section: str, obj: Any, *names: str) -> None:
    for n in names:
        v = getattr(obj, n)
        _check(v is not None and v > 0, f"{section}.{n}", v, "a number > 0")
