"""A config (section) as plain data: a dict, a stable hash for stage reruns, a YAML file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dareu.config.recipe import Config


def to_dict(cfg: Any) -> dict:
    """A plain dict of a config (section) for hashing and reports."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)  # type: ignore[return-value]


def config_hash(*parts: Any) -> str:
    """Stable hash of config sections (and upstream hashes): a stage reruns when it changes."""
    blob = json.dumps([to_dict(p) if is_dataclass(p) else p for p in parts], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_config(cfg: Config, path: str | Path) -> None:
    from dareu.io import atomic_write_text

    atomic_write_text(path, OmegaConf.to_yaml(OmegaConf.structured(cfg)))
