"""Recipe YAML + dotted overrides → a validated `Config`; every mistake becomes a `ConfigError`
that names the key and what was expected (with a "did you mean" for a misspelt key)."""

from __future__ import annotations

import difflib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from dareu.config.moved import explain_old_key
from dareu.config.recipe import Config
from dareu.errors import ConfigError


def _schema_fields(cls: type, dotted: str) -> list[str]:
    """Field names at a dotted path of the schema (for "did you mean")."""
    for part in [p for p in dotted.split(".") if p]:
        ftype = {f.name: f for f in fields(cls)}.get(part)
        if ftype is None or not is_dataclass(ftype.default_factory()):  # type: ignore[misc]
            return []
        cls = type(ftype.default_factory())  # type: ignore[misc]
    return [f.name for f in fields(cls)]


def _explain(e: OmegaConfBaseException, source: str) -> ConfigError:
    key = getattr(e, "full_key", None) or "?"
    if isinstance(e, ConfigKeyError):
        if (old := explain_old_key(key)) is not None:
            return ConfigError(f"{source}: {old}")
        parent, _, leaf = key.rpartition(".")
        known = _schema_fields(Config, parent)
        close = difflib.get_close_matches(leaf, known, n=1)
        hint = f" Did you mean `{(parent + '.' if parent else '') + close[0]}`?" if close else ""
        where = f"section `{parent}`" if parent else "the top level"
        return ConfigError(f"{source}: unknown key `{key}`.{hint} Valid keys in {where}: "
                           f"{', '.join(known)}.")
    if isinstance(e, ValidationError):
        msg = str(e).splitlines()[0]
        return ConfigError(f"{source}: `{key}` has the wrong type ({msg}).")
    return ConfigError(f"{source}: {str(e).splitlines()[0]}")


def _read_recipe(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"recipe file {p} does not exist (expected a YAML recipe, e.g. "
                          "recipes/quickstart.yaml).")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"recipe {p} is not valid YAML{at}: {getattr(e, 'problem', e)}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {p} must be a mapping of sections (data, model, ...), "
                          f"got a {type(data).__name__}.")
    return data


def _parse_overrides(overrides: list[str]) -> DictConfig:
    for o in overrides:
        if "=" not in o or o.startswith("="):
            raise ConfigError(f"override `{o}` must look like key=value (e.g. unlearn.steps=20).")
    try:
        return OmegaConf.from_dotlist(list(overrides))
    except OmegaConfBaseException as e:
        raise ConfigError(f"cannot parse overrides {overrides}: {e}") from None


def load_config(recipe: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Recipe YAML + dotted overrides → validated `Config`. Raises `ConfigError` on any mistake."""
    schema = OmegaConf.structured(Config)
    layers: list[tuple[str, Any]] = []
    if recipe is not None:
        layers.append((str(recipe), _read_recipe(recipe)))
    if overrides:
        layers.append(("command-line override", _parse_overrides(overrides)))
    cfg = schema
    for source, layer in layers:
        try:
            cfg = OmegaConf.merge(cfg, layer)
        except OmegaConfBaseException as e:
            raise _explain(e, source) from None
    from dareu.config.imports import activate_imports

    activate_imports(recipe, list(cfg.imports))  # before validation: it may resolve their names
    try:
        obj = OmegaConf.to_object(cfg)  # runs each section's __post_init__ validation
    except ConfigError:
        raise
    except OmegaConfBaseException as e:
        raise _explain(e, "recipe") from None
    assert isinstance(obj, Config)
    return obj
