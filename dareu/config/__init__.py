"""Typed recipe configuration: one dataclass per concern, every default in exactly one place.

A recipe is a YAML file whose top-level keys are the fields of `Config`; command-line overrides are
dotted `key=value` pairs. `load_config` merges both onto the structured schema, so an unknown key, a
wrong type or an invalid value becomes a `ConfigError` that names the key and what was expected.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Optional

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from dareu.errors import ConfigError

MODES = ("full", "lora", "qlora")
EVAL_EXTRAS = ("mia", "fluency", "attribution")


def _check(cond: bool, key: str, value: Any, expected: str) -> None:
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}.")


def attributor_slug(name: str) -> str:
    """An attributor name as it appears in file names and summary keys: a registered name stays
    as it is (`influence`); an import path `pkg.mod:Class` becomes `pkg_mod_Class`."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "attributor"


def _check_attributor_names(key: str, names: list[str]) -> None:
    """Every name a registered attributor (built-in, decorated or entry point) or an importable
    `package.module:Class`; no name twice. The registry is imported only when there are names."""
    if not names:
        return
    from attributors.base import AttributorError, available_attributors, get_attributor_class

    known = available_attributors()
    for name in names:
        _check(isinstance(name, str) and name != "", key, names, "a list of attributor names")
        if name in known:
            continue
        if ":" in name:  # an import path: resolving it is the only way to know it exists
            try:
                get_attributor_class(name)
                continue
            except AttributorError as e:
                raise ConfigError(f"{key}={names!r} is invalid: {e}") from None
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{key}={names!r} is invalid: {name!r} is not a known attributor.{hint} "
                          f"Expected names drawn from {', '.join(known)} (or import paths "
                          "`package.module:Class`).")
    slugs = [attributor_slug(n) for n in names]
    twice = sorted({n for n, s in zip(names, slugs) if slugs.count(s) > 1})
    _check(not twice, key, names, f"each attributor once (repeated: {', '.join(twice)})")


def _positive(section: str, obj: Any, *names: str) -> None:
    for n in names:
        v = getattr(obj, n)
        _check(v is not None and v > 0, f"{section}.{n}", v, "a number > 0")


@dataclass
class DataConfig:
    """Where the owner-labelled corpus comes from and how prompts are formatted."""

    source: str = "synthetic"
    """Corpus source: `synthetic` (embedded generator), `tofu` (local folder or hub id) or `files`."""
    path: Optional[str] = None
    """TOFU folder or hub id (`locuslab/TOFU`), or the JSONL/CSV file / HF dataset for `files`."""
    num_owners: int = 16
    """synthetic: number of fictitious owners that are trained on (forget + retain)."""
    qa_per_owner: int = 8
    """synthetic: QA pairs per owner (at most the number of question kinds, 10)."""
    num_holdout_owners: int = 4
    """synthetic: owners generated like the others but never trained on (MIA non-members)."""
    num_test_questions: int = 40
    """synthetic: general-knowledge questions not tied to any owner (utility test set)."""
    num_perturbed: int = 3
    """synthetic: wrong answers generated per question (truth ratio)."""
    forget_owners: list[str] = field(default_factory=list)
    """Explicit forget owners (ids). Empty: the last `num_forget_owners` owners (TOFU: `tofu_split`)."""
    num_forget_owners: int = 2
    """Forget owners taken from the end of the owner list when `forget_owners` is empty."""
    tofu_split: str = "forget10"
    """tofu: which forget split (forget01 / forget05 / forget10) defines the forget owners."""
    max_retain_owners: Optional[int] = None
    """Keep only the first N retain owners (small TOFU runs); None keeps all."""
    owner_field: str = "owner"
    """files: column holding the owner id."""
    prompt_field: str = "prompt"
    """files: column holding the prompt (question)."""
    response_field: str = "response"
    """files: column holding the response (answer)."""
    text_field: str = "text"
    """files, document mode: column holding the whole document."""
    document_mode: bool = False
    """files: no QA; prompt = first `prompt_words` words of the document, response = the rest."""
    prompt_words: int = 16
    """files, document mode: words of each document that form the prompt."""
    split_field: Optional[str] = None
    """files: optional column with `holdout` / `test` markers; other rows are training rows."""
    template: str = "Question: {prompt}\nAnswer:"
    """Prompt template; the response follows after one space. Ignored with `chat_template`."""
    chat_template: bool = False
    """Format prompts with the tokenizer's chat template (for instruction-tuned hub models)."""
    seed: Optional[int] = None
    """Seed of the synthetic generator; None uses run.seed."""

    def __post_init__(self) -> None:
        _check(self.source in ("synthetic", "tofu", "files"), "data.source", self.source,
               "one of synthetic, tofu, files")
        _positive("data", self, "num_owners", "qa_per_owner", "num_perturbed", "prompt_words")
        _check(self.num_holdout_owners >= 0, "data.num_holdout_owners", self.num_holdout_owners, ">= 0")
        _check(self.num_test_questions >= 0, "data.num_test_questions", self.num_test_questions, ">= 0")
        _check(self.num_forget_owners > 0, "data.num_forget_owners", self.num_forget_owners, "> 0")
        _check(self.tofu_split in ("forget01", "forget05", "forget10"), "data.tofu_split",
               self.tofu_split, "one of forget01, forget05, forget10")
        _check("{prompt}" in self.template, "data.template", self.template,
               "a string containing {prompt}")
        if self.source == "files":
            _check(self.path is not None, "data.path", self.path, "a JSONL/CSV file or HF dataset id")


@dataclass
class ModelConfig:
    """The causal LM: a hub id / folder, or a tiny model built from scratch."""

    path: Optional[str] = None
    """Target model folder or hub id. None: build a tiny model and finetune it on all owners."""
    oracle_path: Optional[str] = None
    """Oracle (retain-only) model folder or hub id. None: finetune one with the target's recipe."""
    base_path: Optional[str] = None
    """Pretrained model that target and oracle are finetuned from. None: a tiny model from scratch."""
    tokenizer_path: Optional[str] = None
    """Tokenizer folder or hub id. None: the model's own, or one trained on the corpus."""
    arch: str = "gpt2"
    """From-scratch architecture: `gpt2` or `llama`."""
    n_layer: int = 3
    n_embd: int = 192
    n_head: int = 4
    vocab_size: int = 2048
    """Vocabulary of the tokenizer trained on the corpus (from-scratch models only)."""
    max_length: int = 128
    """Maximum tokens of prompt + response."""
    mode: str = "full"
    """How the unlearning methods train the policy: `full`, `lora` or `qlora` (4-bit base + LoRA)."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: Optional[list[str]] = None
    """Module names LoRA wraps; None = every linear layer except the output head."""
    dtype: str = "float32"
    """Weights dtype when loading: float32, bfloat16 or float16 (4-bit compute dtype in qlora)."""
    trust_remote_code: bool = False
    """Run code shipped with a hub model. Off unless you trust its author."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass of the trained policy: less memory, more compute
    (for large models on one GPU; rollouts sample in eval mode and keep the KV cache)."""
    allow_pickle: bool = False
    """Accept .bin / pickle weights (unsafe: they can run code). Safetensors only by default."""
    merge_adapters: bool = False
    """Also save a merged full model next to the adapter after unlearning."""

    def __post_init__(self) -> None:
        _check(self.arch in ("gpt2", "llama"), "model.arch", self.arch, "gpt2 or llama")
        _check(self.mode in MODES, "model.mode", self.mode, "one of " + ", ".join(MODES))
        _check(self.dtype in ("float32", "bfloat16", "float16"), "model.dtype", self.dtype,
               "float32, bfloat16 or float16")
        _positive("model", self, "n_layer", "n_embd", "n_head", "vocab_size", "max_length", "lora_r",
                  "lora_alpha")
        _check(self.n_embd % self.n_head == 0, "model.n_embd", self.n_embd,
               f"a multiple of model.n_head={self.n_head}")
        _check(0 <= self.lora_dropout < 1, "model.lora_dropout", self.lora_dropout, "in [0, 1)")


@dataclass
class FinetuneConfig:
    """How the target (all owners) and the oracle (retain owners only) are trained."""

    epochs: int = 40
    lr: float = 3e-3
    batch_size: int = 32
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    mode: str = "full"
    """full, lora or qlora: how the target/oracle finetune trains (full for from-scratch models)."""
    include_test_sets: bool = True
    """Also train on the general test sets: a from-scratch model must learn world knowledge
    somewhere. Set false for pretrained hub models, which already know it."""

    def __post_init__(self) -> None:
        _positive("finetune", self, "epochs", "lr", "batch_size")
        _check(0 <= self.warmup_ratio < 1, "finetune.warmup_ratio", self.warmup_ratio, "in [0, 1)")
        _check(self.mode in MODES, "finetune.mode", self.mode, "one of " + ", ".join(MODES))


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


@dataclass
class BaselineConfig:
    """Hyper-parameters of the loss-based baselines (REFERENCE.md §5; open-unlearning defaults)."""

    npo_beta: float = 0.1
    """NPO inverse temperature β."""
    simnpo_beta: float = 4.5
    """SimNPO inverse temperature β."""
    simnpo_delta: float = 0.0
    """SimNPO margin δ on the length-normalised forget NLL."""
    idk_beta: float = 0.1
    """IdkPO (DPO) inverse temperature β."""
    retain_weight: float = 1.0
    """Weight (α / γ in the papers) of the retain term: NLL, or KL(reference ‖ policy) for `kl`."""
    forget_batch_size: int = 8
    retain_batch_size: int = 8
    lr: Optional[float] = None
    """Learning rate of the baselines; None uses unlearn.lr (same budget as DareU)."""
    weight_decay: Optional[float] = None
    """AdamW weight decay of the baselines; None uses unlearn.weight_decay."""
    idk_answers: Optional[str] = None
    """IdkPO: text file of "I don't know" answers, one a line; None uses the shipped list."""

    def __post_init__(self) -> None:
        _positive("unlearn.baselines", self, "npo_beta", "simnpo_beta", "idk_beta",
                  "forget_batch_size", "retain_batch_size")
        _check(self.retain_weight >= 0, "unlearn.baselines.retain_weight", self.retain_weight, ">= 0")
        _check(self.lr is None or self.lr > 0, "unlearn.baselines.lr", self.lr, "null or a number > 0")
        _check(self.weight_decay is None or self.weight_decay >= 0, "unlearn.baselines.weight_decay",
               self.weight_decay, "null or >= 0")


@dataclass
class UnlearnConfig:
    """The unlearning methods and the DareU RL loop."""

    methods: list[str] = field(default_factory=lambda: ["dareu"])
    """Methods to run on one corpus / target / oracle (dareu and the baselines)."""
    algorithm: str = "grpo"
    """DareU's RL algorithm: `grpo` (group advantages), `rloo` (leave-one-out) or `ppo` (value head + GAE)."""
    steps: int = 40
    """RL steps: one rollout (prompts_per_step × group_size responses) each; every step makes
    ppo_epochs × minibatches optimiser updates. Defaults measured in docs/dareu_defaults.md."""
    lr: float = 1e-4
    """AdamW learning rate of the policy (LoRA adapters in lora / qlora mode)."""
    prompts_per_step: int = 8
    """Forget-owner prompts per rollout (per rank)."""
    group_size: int = 4
    """Responses sampled per prompt (G)."""
    temperature: float = 1.0
    """Sampling temperature; log-probs are taken from logits / temperature, as sampled."""
    top_p: float = 1.0
    """Nucleus sampling threshold (1 = the full distribution)."""
    max_new_tokens: int = 48
    """Longest sampled response, in tokens."""
    beta: float = 0.05
    """KL-to-reference coefficient (in the loss for grpo / rloo, in the per-token rewards for ppo)."""
    kl_estimator: str = "k3"
    """Per-token KL estimator to the reference: k1, k2 or k3 (REFERENCE.md §6)."""
    retain_weight: float = 1.0
    """Weight λ of the retain-set distillation KL(reference ‖ policy)."""
    retain_batch_size: int = 8
    """Teacher-forced retain-owner records per step for the distillation term (cycled, seeded)."""
    retain_on_generations: bool = False
    """Also distil on the policy's own sampled answers to retain-owner prompts (one extra generation per step)."""
    clip_eps: float = 0.2
    """PPO ratio clipping ε."""
    ppo_epochs: int = 2
    """Passes over each rollout (all algorithms: TRL's num_iterations μ for grpo / rloo)."""
    minibatches: int = 1
    """Optimiser updates per pass over a rollout (the rollout is split into this many minibatches)."""
    vf_coef: float = 0.5
    """ppo: weight of the value loss."""
    value_lr: Optional[float] = None
    """ppo: learning rate of the value head (its own parameter group); None uses `lr`."""
    value_clip: float = 0.2
    """ppo: clipping range of the value loss around the rollout's values."""
    gae_lambda: float = 0.95
    """ppo: GAE λ."""
    gamma: float = 1.0
    """ppo: discount γ over response tokens."""
    loss_aggregation: str = "dapo"
    """Token reduction of the policy loss: dapo, token_mean or seq_mean (dareu.rl.aggregate)."""
    reward_transform: str = "mass"
    """How attribution becomes reward: `mass` (−mass) or `log_mass` (−log(mass + eps))."""
    max_grad_norm: float = 1.0
    """Gradient-norm clipping of every update (0 disables it)."""
    checkpoint_every: int = 25
    """Steps between Lightning checkpoints (resume after a kill)."""
    keep_checkpoints: bool = False
    """Keep `checkpoints/last.ckpt` in the method folder after a successful save (deleted by default)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    """Hyper-parameters of the loss-based baselines (grad_ascent, npo, simnpo, ...)."""

    def __post_init__(self) -> None:
        _check(self.algorithm in ("grpo", "ppo", "rloo"), "unlearn.algorithm", self.algorithm,
               "grpo, ppo or rloo")
        _positive("unlearn", self, "steps", "lr", "prompts_per_step", "group_size", "temperature",
                  "max_new_tokens", "ppo_epochs", "minibatches", "checkpoint_every",
                  "retain_batch_size", "clip_eps", "value_clip")
        if self.algorithm in ("grpo", "rloo"):
            _check(self.group_size >= 2, "unlearn.group_size", self.group_size,
                   f">= 2 for unlearn.algorithm={self.algorithm} (advantages compare a prompt's responses)")
        rollout = self.prompts_per_step * self.group_size
        _check(self.minibatches <= rollout, "unlearn.minibatches", self.minibatches,
               f"<= prompts_per_step × group_size = {rollout} (each minibatch needs a response)")
        _check(self.value_lr is None or self.value_lr > 0, "unlearn.value_lr", self.value_lr,
               "null or a number > 0")
        _check(self.vf_coef >= 0, "unlearn.vf_coef", self.vf_coef, ">= 0")
        _check(0 <= self.gae_lambda <= 1, "unlearn.gae_lambda", self.gae_lambda, "in [0, 1]")
        _check(0 < self.gamma <= 1, "unlearn.gamma", self.gamma, "in (0, 1]")
        _check(self.max_grad_norm >= 0, "unlearn.max_grad_norm", self.max_grad_norm, ">= 0")
        _check(self.weight_decay >= 0, "unlearn.weight_decay", self.weight_decay, ">= 0")
        _check(0 < self.top_p <= 1, "unlearn.top_p", self.top_p, "in (0, 1]")
        _check(self.beta >= 0, "unlearn.beta", self.beta, ">= 0")
        _check(self.retain_weight >= 0, "unlearn.retain_weight", self.retain_weight, ">= 0")
        _check(self.kl_estimator in ("k1", "k2", "k3"), "unlearn.kl_estimator", self.kl_estimator,
               "k1, k2 or k3")
        _check(self.loss_aggregation in ("dapo", "token_mean", "seq_mean"), "unlearn.loss_aggregation",
               self.loss_aggregation, "dapo, token_mean or seq_mean")
        _check(self.reward_transform in ("mass", "log_mass"), "unlearn.reward_transform",
               self.reward_transform, "mass or log_mass")
        _check(len(self.methods) > 0, "unlearn.methods", self.methods, "at least one method")


@dataclass
class EvalConfig:
    """Evaluation of target, oracle and unlearned models."""

    batch_size: int = 32
    max_new_tokens: int = 48
    """Greedy answer length cap for ROUGE and attribution."""
    metrics: list[str] = field(default_factory=lambda: list(EVAL_EXTRAS))
    """Metric groups on top of the TOFU core (prob, ROUGE, truth ratio, forget quality, model
    utility, ToW, extraction strength): `mia` (needs holdout records), `fluency` (loads the oracle
    as judge), `attribution` (needs a fitted attributor)."""
    max_items: Optional[int] = None
    """Evaluate at most N items per split (evenly spaced, the same for every model); None = all."""
    mia_k: float = 0.4
    """Fraction of lowest-probability answer tokens the Min-K% attack averages."""
    attributors: list[str] = field(default_factory=list)
    """Extra attributors to measure the forget mass with, besides the reward's (`attributor`):
    each is fitted with its default options into `attributors/<name>/` (the reward's own is reused
    when the name is `attributor.name`) and adds `forget_attribution_mass_<name>` to every model.
    Needs `attribution` in `metrics`."""

    def __post_init__(self) -> None:
        _positive("eval", self, "batch_size", "max_new_tokens")
        unknown = [m for m in self.metrics if m not in EVAL_EXTRAS]
        _check(not unknown, "eval.metrics", self.metrics, "a list drawn from " + ", ".join(EVAL_EXTRAS))
        _check(self.max_items is None or self.max_items > 0, "eval.max_items", self.max_items,
               "a number > 0, or null for all items")
        _check(0 < self.mia_k <= 1, "eval.mia_k", self.mia_k, "in (0, 1]")
        _check_attributor_names("eval.attributors", self.attributors)


@dataclass
class TrainerConfig:
    """Passed to `lightning.Trainer` unchanged."""

    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    log_every_n_steps: int = 10
    enable_progress_bar: bool = True
    deterministic: bool = False

    def __post_init__(self) -> None:
        _check(self.accelerator in ("auto", "cpu", "gpu", "cuda", "mps"), "trainer.accelerator",
               self.accelerator, "auto, cpu, gpu, cuda or mps")
        _positive("trainer", self, "num_nodes", "log_every_n_steps")


@dataclass
class RunConfig:
    """Where the run writes, and the seed that fixes data, init, sampling and shuffling."""

    output_dir: str = "runs/quickstart"
    seed: int = 0
    threads: Optional[int] = None
    """torch intra-op threads; None leaves torch's default."""


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    attributor: AttributorConfig = field(default_factory=AttributorConfig)
    unlearn: UnlearnConfig = field(default_factory=UnlearnConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def output_dir(self) -> Path:
        return Path(self.run.output_dir)


# ---------------------------------------------------------------------------------------------
# Loading


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
    try:
        obj = OmegaConf.to_object(cfg)  # runs each section's __post_init__ validation
    except ConfigError:
        raise
    except OmegaConfBaseException as e:
        raise _explain(e, "recipe") from None
    assert isinstance(obj, Config)
    return obj


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
