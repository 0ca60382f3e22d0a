"""The Attributor interface and its registry.

An attributor answers: how much of this (generated) text is attributable to each data owner?

To add one, subclass `Attributor`, give it a config dataclass, and register it — by decorator in
your own module (`@register_attributor("mine")`) or through the `dareu.attributors` entry-point
group of your package. Two methods are required (`fit`, `score`); `save` / `load` have defaults
that persist the config and a dict of tensors (safetensors + JSON, never pickle).
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from dareu.errors import DareUError


class AttributorError(DareUError):
    """Unknown attributor name, bad options, or a saved attributor that does not fit the corpus."""


@dataclasses.dataclass
class AttributorContext:
    """What an attributor may need beyond the corpus: the run's models, tokenizer and device."""

    target_path: str | None = None
    tokenizer: Any = None
    template: str = "Question: {prompt}\nAnswer:"
    device: str = "cpu"
    seed: int = 0
    model_cfg: Any = None
    trainer_cfg: Any = None
    log_dir: str | None = None


class Attributor(ABC):
    """Owner-level attribution. Subclasses set `Config` (a dataclass) and implement fit/score.

    Column order of `score` is `self.owners`. Scores are non-negative; whether rows sum to one is
    up to each attributor (document it in its docstring) — the reward only needs the forget mass.
    """

    Config: ClassVar[type] = type("Config", (), {})
    name: ClassVar[str] = ""

    def __init__(self, config: Any | None = None, context: AttributorContext | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self.context = context or AttributorContext()
        self.owners: list[str] = []

    # -- required ---------------------------------------------------------------------------
    @abstractmethod
    def fit(self, corpus) -> "Attributor":
        """Learn or cache what scoring needs, per owner in `corpus.owners`. Texts arrive masked."""

    @abstractmethod
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, n_owners) non-negative attribution of each response to each owner."""

    # -- persistence (override `state_dict` / `load_state_dict` for tensors) -------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "owners": self.owners,
                "config": dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else {}}
        (d / "attributor.json").write_text(json.dumps(meta, indent=2))
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(d / "attributor.safetensors"))

    @classmethod
    def load(cls, directory: str | Path, context: AttributorContext | None = None) -> "Attributor":
        from safetensors.torch import load_file

        d = Path(directory)
        meta = json.loads((d / "attributor.json").read_text())
        obj = cls(_make_config(cls, meta.get("config", {})), context)
        obj.owners = list(meta["owners"])
        weights = d / "attributor.safetensors"
        obj.load_state_dict(load_file(str(weights)) if weights.exists() else {})
        obj.after_load(d)
        return obj

    def after_load(self, directory: Path) -> None:
        """Hook: load extra files (e.g. an HF model folder) saved by an overridden `save`."""


# ---------------------------------------------------------------------------------------------
# Registry

_REGISTRY: dict[str, type[Attributor]] = {}
_BUILTINS = {"classifier": "attributors.classifier", "influence": "attributors.influence",
             "trak": "attributors.trak"}
ENTRY_POINT_GROUP = "dareu.attributors"


def register_attributor(name: str):
    """Class decorator: make an Attributor selectable as `attributor.name: <name>`."""

    def deco(cls: type[Attributor]) -> type[Attributor]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_attributors() -> list[str]:
    return sorted(set(_REGISTRY) | set(_BUILTINS) | set(_entry_points()))


def get_attributor_class(name: str) -> type[Attributor]:
    import importlib

    if name not in _REGISTRY:
        if name in _BUILTINS:
            importlib.import_module(_BUILTINS[name])
        elif name in (eps := _entry_points()):
            cls = eps[name].load()
            if name not in _REGISTRY:  # entry point may name the class without the decorator
                register_attributor(name)(cls)
        elif "." in name and ":" in name:  # an import path "pkg.module:Class"
            mod, attr = name.split(":")
            register_attributor(name)(getattr(importlib.import_module(mod), attr))
    if name not in _REGISTRY:
        raise AttributorError(f"attributor.name={name!r} is not a known attributor. Available: "
                              f"{', '.join(available_attributors())} (or an import path "
                              "`package.module:Class`, or an entry point in group "
                              f"`{ENTRY_POINT_GROUP}`).")
    return _REGISTRY[name]


def _make_config(cls: type[Attributor], options: dict) -> Any:
    Config = cls.Config
    if not dataclasses.is_dataclass(Config):
        return Config()
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(options) - known)
    if unknown:
        import difflib

        hints = [f"{u} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(u, known, 1)) else u
                 for u in unknown]
        raise AttributorError(f"attributor.options for `{cls.name}` has unknown keys: "
                              f"{', '.join(hints)}. Valid: {', '.join(sorted(known))}.")
    try:
        return Config(**options)
    except (TypeError, ValueError) as e:
        raise AttributorError(f"attributor.options for `{cls.name}`: {e}") from None


def build_attributor(name: str, options: dict | None = None,
                     context: AttributorContext | None = None) -> Attributor:
    cls = get_attributor_class(name)
    return cls(_make_config(cls, dict(options or {})), context)


def load_attributor(directory: str | Path, context: AttributorContext | None = None) -> Attributor:
    d = Path(directory)
    meta_path = d / "attributor.json"
    if not meta_path.is_file():
        raise AttributorError(f"{d} holds no saved attributor (attributor.json missing); run "
                              "`dareu fit-attributor RECIPE` first.")
    name = json.loads(meta_path.read_text())["name"]
    return get_attributor_class(name).load(d, context)
