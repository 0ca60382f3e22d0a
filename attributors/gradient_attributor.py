"""What the gradient-based attributors (influence, TRAK) share: the frozen attributor model, its
per-example gradients, the owner bookkeeping, and turning raw scores into owner attributions.

Query and training loss are the same function: the NLL of the response given the templated prompt
(mean over response tokens by default). With `sees=response` (the run's default) the prompt is
empty at fit and at score time alike, so the attributor reads only the response; with
`sees=prompt+response` it conditions on the (alias-masked) question.

Raw scores are signed, higher = more attributable: an owner whose training data lowers the
response's loss scores high (for influence, raw = ∇L(q)ᵀ (H + λI)⁻¹ Σ_{z ∈ owner} ∇L(z), which is
−dL(q)/dε when the owner's examples are up-weighted by ε).

`score` maps raw scores to non-negative rows that sum to one:

- softmax (default): softmax(raw / (scale · temperature)), with `scale` = std of the raw scores of
  up to `calibration_examples` training records, measured at fit time. Raw scores have an arbitrary
  scale (it changes with the loss, the tracked layers, the damping); calibrating on the training
  data makes a memorised training answer peak on its owner while a response no owner supports
  (all raw scores small) stays near uniform — like a classifier's probabilities. Temperature 0.5
  (default) was chosen on the quickstart: forget mass of the target's / oracle's answers 0.92 /
  0.01 with ekfac (temperature 1.0: 0.65 / 0.05), close to the classifier's 0.96 / 0.01.
- relu: clamp(raw, min=0) / row sum; a row with no positive score stays all zero.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch import Tensor

from attributors.base import Attributor, AttributorError
from attributors.gradients import (BatchGradients, GradientTracker, Layout, batches,
                                   encode_examples, select_layers)

log = logging.getLogger("dareu")
NORMALISATIONS = ("softmax", "relu")


@dataclass
class GradientConfig:
    model_path: str | None = None
    """Attributor model folder or hub id; None = the run's target model."""
    mode: str | None = None
    """full, lora or qlora; None = the recipe's model.mode. lora/qlora add a fresh LoRA adapter
    (seeded) whose B matrices are tracked; qlora loads the base in 4 bits."""
    modules: list[str] = field(default_factory=list)
    """Regexes of the linear layers to track (e.g. `h\\.2\\.mlp`); empty = LoRA B matrices for
    lora/qlora, else every linear layer of the last `last_blocks` blocks."""
    last_blocks: int = 1
    loss: str = "mean"
    """Per-example loss over response tokens: mean (default) or sum."""
    max_length: int | None = None
    """Token budget of prompt + response; None = model.max_length."""
    batch_size: int = 8
    normalise: str = "softmax"
    """softmax (calibrated, default) or relu — see the module docstring."""
    temperature: float = 0.5
    """Softmax temperature in units of the calibrated scale (lower = sharper)."""
    calibration_examples: int = 64

    def __post_init__(self) -> None:
        if self.mode not in (None, "full", "lora", "qlora"):
            raise ValueError(f"mode={self.mode!r}: use full, lora or qlora")
        if self.loss not in ("mean", "sum"):
            raise ValueError(f"loss={self.loss!r}: use mean or sum")
        if self.normalise not in NORMALISATIONS:
            raise ValueError(f"normalise={self.normalise!r}: use {' or '.join(NORMALISATIONS)}")
        if self.temperature <= 0 or self.batch_size < 1 or self.calibration_examples < 1:
            raise ValueError("temperature, batch_size and calibration_examples must be positive")
        if isinstance(self.modules, str):
            self.modules = [self.modules]


@dataclass
class _Session:
    """One loaded attributor model with hooks on its tracked layers."""

    model: torch.nn.Module
    tracker: GradientTracker
    layout: Layout


class GradientAttributor(Attributor):
    """Base of influence and TRAK. Subclasses implement `_fit_examples` and `_raw`."""

    Config = GradientConfig

    def __init__(self, config=None, context=None) -> None:
        super().__init__(config, context)
        self._sessions: dict[str, _Session] = {}
        self.scale = torch.tensor(1.0)
        self._saved_layout: Tensor | None = None  # set by load: the layers the fit tracked
        self._report: dict = {}
        self._saved_model_path: str | None = None  # set by load: the model the fit used

    # -- the attributor model ------------------------------------------------------------------
    def model_paths(self) -> list[str]:
        path = self.config.model_path or self.context.target_path or self._saved_model_path
        if not path:
            raise AttributorError(f"attributor `{self.name}` needs a model: set "
                                  "attributor.options.model_path, or run `dareu prepare` first so "
                                  "the target model exists.")
        return [str(path)]

    @property
    def model_cfg(self):
        from dareu.config import ModelConfig

        return self.context.model_cfg or ModelConfig()

    @property
    def max_length(self) -> int:
        return self.config.max_length or self.model_cfg.max_length

    @property
    def tokenizer(self):
        if self.context.tokenizer is None:
            from dareu.models import load_tokenizer

            self.context.tokenizer = load_tokenizer(self.model_paths()[0], self.model_cfg)
        return self.context.tokenizer

    def session(self, path: str) -> _Session:
        if path not in self._sessions:
            from dareu.models import load_causal_lm

            mode = self.config.mode or self.model_cfg.mode
            with torch.random.fork_rng(devices=[]):  # the caller's RNG stream is left untouched
                torch.manual_seed(self.context.seed)  # fresh LoRA A: the same at fit and at load
                model = load_causal_lm(path, self.model_cfg, mode=mode,
                                       device=self.context.device, trainable=mode != "full")
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)  # frozen: only activation gradients are computed
            layers = select_layers(model, self.config.modules, self.config.last_blocks)
            layout = Layout(layers)
            if self._saved_layout is not None and not torch.equal(layout.describe(),
                                                                  self._saved_layout):
                raise AttributorError(f"the saved `{self.name}` attributor was fitted on other "
                                      "tracked layers than this model gives (another model or "
                                      "options); fit it again.")
            log.info("%s: %s, tracking %d layers, %d parameters", self.name, path, len(layers),
                     layout.size)
            self._sessions[path] = _Session(model, GradientTracker(model, layers, self.config.loss),
                                            layout)
        return self._sessions[path]

    def gradients(self, session: _Session, prompts: Sequence[str], responses: Sequence[str]
                  ) -> Iterator[BatchGradients]:
        """Per-example gradients, `batch_size` examples at a time, in order."""
        tok = self.tokenizer
        if self.sees != "prompt+response":
            prompts = [""] * len(responses)
        rows = encode_examples(tok, self.context.template, prompts, responses, self.max_length,
                               self.context.chat_template)
        for batch in batches(rows, self.config.batch_size, tok.pad_token_id, self.context.device):
            yield session.tracker.batch_gradients(batch)

    @property
    def uses_target(self) -> bool:
        return not self.config.model_path

    def to(self, device) -> "GradientAttributor":
        if str(device) != str(self.context.device):
            self.context.device = str(device)
            self._sessions.clear()  # reloaded on the new device (a 4-bit model cannot be moved)
        return self

    def fit_report(self) -> dict:
        return dict(self._report)

    # -- fit / score ---------------------------------------------------------------------------
    def fit(self, corpus) -> "GradientAttributor":
        self.owners = list(corpus.owners)
        index = {o: i for i, o in enumerate(self.owners)}
        records = [r for r in corpus.records if r.owner in index]
        if not records:
            raise AttributorError(f"attributor `{self.name}`: the corpus has no records of its "
                                  "owners.")
        prompts, responses = [r.prompt for r in records], [r.response for r in records]
        owner_of = torch.tensor([index[r.owner] for r in records])  # (N,)
        t0 = time.perf_counter()
        self._fit_examples(prompts, responses, owner_of)
        top1 = self._calibrate(prompts, responses, owner_of)
        layout = self.session(self.model_paths()[0]).layout
        self._report = {"tracked_layers": len(layout.layers), "tracked_parameters": layout.size,
                        "fit_s": round(time.perf_counter() - t0, 2),
                        "train_top1_owner": round(top1, 4)}
        return self

    def _fit_examples(self, prompts: list[str], responses: list[str], owner_of: Tensor) -> None:
        raise NotImplementedError

    def _raw(self, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        raise NotImplementedError

    def raw_scores(self, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        """(N, n_owners) signed, un-normalised scores (higher = more attributable)."""
        if not self.owners:
            raise AttributorError(f"attributor `{self.name}` is not fitted: call fit() or load().")
        if len(prompts) != len(responses):
            raise AttributorError(f"{len(prompts)} prompts but {len(responses)} responses.")
        if not len(responses):
            return torch.zeros(0, len(self.owners))
        return self._raw(prompts, responses).float().cpu()

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        """(N, n_owners) non-negative rows summing to one (all-zero rows possible with relu)."""
        return normalise(self.raw_scores(prompts, responses), self.config.normalise,
                         float(self.scale) * self.config.temperature)

    def _calibrate(self, prompts: list[str], responses: list[str], owner_of: Tensor) -> float:
        """Set the softmax scale from training records; return how often their own owner ranks
        first (a sanity check: near 1 for a target that memorised its data)."""
        n = min(self.config.calibration_examples, len(prompts))
        idx = torch.linspace(0, len(prompts) - 1, n).round().long().unique()
        raw = self.raw_scores([prompts[i] for i in idx], [responses[i] for i in idx])
        std = float(raw.std()) if raw.numel() > 1 else float(raw.abs().mean())
        self.scale = torch.tensor(std if std > 0 else 1.0)
        return float((raw.argmax(1) == owner_of[idx]).float().mean())

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Tensor]:
        layout = (self._saved_layout if self._saved_layout is not None and not self._sessions
                  else self.session(self.model_paths()[0]).layout.describe())
        return {"scale": self.scale.reshape(()), "layout": layout}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.scale, self._saved_layout = state["scale"], state["layout"]

    def save(self, directory) -> None:
        """Also record how texts were formatted and which model the fit read, so a reward that
        loads the attributor with a bare context scores exactly as the fit did."""
        super().save(directory)
        path = self.model_paths()[0]
        local = Path(path)
        meta = {"model_path": str(local.resolve()) if local.exists() else path,
                "template": self.context.template, "chat_template": self.context.chat_template}
        (Path(directory) / "gradient_attributor.json").write_text(json.dumps(meta, indent=2))

    def after_load(self, directory: Path) -> None:
        meta_path = Path(directory) / "gradient_attributor.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            self._saved_model_path = meta["model_path"]
            self.context.template = meta["template"]
            self.context.chat_template = meta["chat_template"]


def normalise(raw: Tensor, how: str, scale: float) -> Tensor:
    """(N, n_owners) raw -> non-negative rows (see the module docstring)."""
    if how == "softmax":
        return torch.softmax(raw / scale, dim=1)
    pos = raw.clamp(min=0)
    total = pos.sum(1, keepdim=True)
    return torch.where(total > 0, pos / total.clamp(min=1e-30), torch.zeros_like(pos))

