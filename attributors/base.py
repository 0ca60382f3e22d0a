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
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import torch

from dareu.errors import DareUError
from dareu.registry import Registry


class AttributorError(DareUError):
    """Unknown attributor name, bad options, or a saved attributor that does not fit the corpus."""


@dataclasses.dataclass
class AttributorContext:
    """What an attributor may need beyond the corpus: the run's models, tokenizer and device."""

    target_path: str | None = None
    """The target model folder (for attributors that read or prompt it)."""
    tokenizer: Any = None
    """The run's tokenizer (None: an attributor that needs one brings or trains its own)."""
    template: str = "Question: {prompt}\nAnswer:"
    chat_template: bool = False
    """Format prompts with the tokenizer's chat template instead of `template`."""
    device: str = "cpu"
    seed: int = 0
    model_cfg: Any = None
    """The run's ModelConfig (loading the target: dtype, pickle policy, ...)."""
    trainer_cfg: Any = None
    """The run's TrainerConfig (attributors that train run a `lightning.Trainer` with it)."""
    log_dir: str | None = None
    """Where training logs go (None: no logger)."""
    sees: str = "response"
    """What the attributor reads: `response` or `prompt+response` (fixed at fit time, saved)."""
    masker: Callable[[str], str] | None = None
    """The alias masker the corpus was masked with: apply it to any text you create (generations)."""
    unmasked_corpus: Any = None
    """The corpus before masking, for attributors that must prompt a model with the real prompts."""
    target_answers: list | None = None
    """The target's sampled answers (records, alias-masked, each labelled with the owner whose
    prompt it answers) for an attributor whose `target_sampling` asks for them; the fit stage
    samples them (dareu.stages.fit_attributor.sample_target_answers)."""

    def mask(self, text: str) -> str:
        return self.masker(text) if self.masker is not None else text


@dataclasses.dataclass(frozen=True)
class TargetSampling:
    """What an attributor asks the fit stage for: `per_prompt` answers of the target, sampled at
    `temperature` up to `max_new_tokens`, to every record's prompt (`context.target_answers`)."""

    per_prompt: int
    temperature: float
    max_new_tokens: int


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
        self.sees: str = self.context.sees

    # -- required ---------------------------------------------------------------------------
    @abstractmethod
    def fit(self, corpus) -> "Attributor":
        """Learn or cache what scoring needs, per owner in `corpus.owners`. Texts arrive masked."""

    @abstractmethod
    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, n_owners) non-negative attribution of each response to each owner."""

    # -- hooks with defaults ----------------------------------------------------------------
    @property
    def uses_target(self) -> bool:
        """Whether `fit` reads the target model (the fit stage then reruns when the target does)."""
        return False

    @property
    def target_sampling(self) -> TargetSampling | None:
        """The target's answers `fit` trains on (handed over as `context.target_answers`), or None.
        An attributor that asks for them also says `uses_target`."""
        return None

    def fit_report(self) -> dict[str, Any]:
        """Metrics of the last fit (e.g. held-out accuracy); merged into summary.json."""
        return {}

    def to(self, device: str | torch.device) -> "Attributor":
        """Move whatever scoring computes on to `device` (no-op for attributors without models)."""
        return self

    def texts(self, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
        """The text attributed per pair: the response, or prompt + response when `sees` says so."""
        if len(prompts) != len(responses):
            raise AttributorError(f"score got {len(prompts)} prompts but {len(responses)} responses; "
                                  "pass one prompt per response.")
        if self.sees != "prompt+response":
            return list(responses)
        return [f"{p}\n{r}" if p else r for p, r in zip(prompts, responses)]

    # -- persistence (override `state_dict` / `load_state_dict` for tensors) -------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "owners": self.owners, "sees": self.sees,
                "report": self.fit_report(),
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
        obj.sees = meta.get("sees", obj.sees)
        weights = d / "attributor.safetensors"
        obj.load_state_dict(load_file(str(weights)) if weights.exists() else {})
        obj.after_load(d)
        return obj

    def after_load(self, directory: Path) -> None:
        """Hook: load extra files (e.g. an HF model folder) saved by an overridden `save`."""


# ---------------------------------------------------------------------------------------------
# Registry

ENTRY_POINT_GROUP = "dareu.attributors"
ATTRIBUTORS = Registry("attributor", "attributor.name", base=Attributor, error=AttributorError,
                       builtins={"classifier": "attributors.classifier",
                                 "influence": "attributors.influence", "trak": "attributors.trak"},
                       group=ENTRY_POINT_GROUP)


def register_attributor(name: str):
    """Class decorator: make an Attributor selectable as `attributor.name: <name>`."""
    return ATTRIBUTORS.register(name)


def available_attributors() -> list[str]:
    return ATTRIBUTORS.names()


def get_attributor_class(name: str, field: str = "attributor.name", shown: Any = None
                         ) -> type[Attributor]:
    """The class registered as `name`: a built-in, an entry point, or an import path `pkg.mod:Class`.
    Errors name `field` (and `shown`, the value the recipe gave it)."""
    return ATTRIBUTORS.get(name, field, shown)


def _make_config(cls: type[Attributor], options: dict) -> Any:
    Config = cls.Config
    if not dataclasses.is_dataclass(Config):
        if options:
            raise AttributorError(f"attributor `{cls.name}` takes no options (its Config is not a "
                                  f"dataclass), got: {', '.join(sorted(options))}.")
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
