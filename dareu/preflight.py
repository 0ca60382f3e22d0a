"""Check everything a recipe names before the first stage runs.

A misspelt attributor, method or folder must cost seconds, not the hours of a finetune that runs
before the stage that would have found it. Each check is cheap: names are resolved in the
registries, options are validated against their config dataclasses, local folders and files are
looked up, the corpus is read; nothing is trained or written.
"""

from __future__ import annotations

from pathlib import Path

from dareu.config import Config
from dareu.pipeline import Run
from dareu.errors import ConfigError, ModelError


def preflight(run: Run, command: str = "run") -> None:
    """Raise a DareUError naming the first key of the run's recipe that cannot work for the stages
    `command` runs; return when all can. The corpus is read through `run.corpus`, so the stages
    reuse it instead of reading it again."""
    from dareu.trainer import check_environment

    cfg = run.cfg
    _check_methods(cfg)
    _check_attributors(cfg)
    check_strategy(cfg, command)  # before the machine: `dareu plan` refuses it on any machine
    check_environment(cfg)  # no CUDA, a logger or callback that cannot be built
    _check_model_folders(cfg)
    _check_names(cfg, run.corpus)  # reading it raises the data errors: files, columns, owners


# what `dareu run` runs, in order; the other commands run the stage of their name
STAGES = ("prepare", "fit-attributor", "unlearn", "evaluate", "attack")


def check_strategy(cfg: Config, command: str = "run") -> None:
    """Refuse, before any stage runs, the strategy / mode combinations that fail deep inside
    Lightning or torch in a stage `command` runs (docs/scale_out.md, "Refused combinations").
    `dareu plan` calls it for `dareu run`: the plan refuses what the run refuses."""
    from dareu.trainer import FSDP2

    strategy = str(cfg.trainer.strategy).lower()
    qlora = "qlora" in (cfg.model.mode, cfg.finetune.mode)
    if strategy == FSDP2:
        _check_fsdp2(cfg, STAGES if command == "run" else (command,))
    elif qlora and "fsdp" in strategy:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with 4-bit QLoRA (model.mode or "
                          "finetune.mode = qlora): Lightning's FSDP strategy rejects bitsandbytes "
                          "precision. Use trainer.strategy=ddp (each rank loads its own 4-bit copy), "
                          "or FSDP with model.mode=lora / full.")
    elif qlora and "deepspeed" in strategy:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with 4-bit QLoRA: DeepSpeed moves "
                          "the model with .to(), which 4-bit models refuse. Use trainer.strategy=ddp, "
                          "or DeepSpeed with model.mode=lora / full.")
    elif ("fsdp" in strategy or "deepspeed" in strategy) and "dareu" in cfg.unlearn.methods:
        raise ConfigError(f"trainer.strategy={cfg.trainer.strategy} with unlearn.methods containing "
                          "dareu: DareU runs under trainer.strategy=ddp or fsdp2 (sharded training, "
                          "weights gathered for each rollout's decode and for saving); Lightning's "
                          "FSDP (v1) and DeepSpeed strategies are supported for the loss-based "
                          "baselines only. Run DareU with fsdp2 or ddp.")
    if cfg.trainer.precision == "bf16-true" and qlora:
        raise ConfigError("trainer.precision=bf16-true casts the LoRA adapters and upcast norms of a "
                          "4-bit model to bf16; use bf16-mixed or 32-true with QLoRA.")


def _check_fsdp2(cfg: Config, stages: tuple[str, ...]) -> None:
    """fsdp2 (Lightning's ModelParallelStrategy): every module a stage trains shards itself in
    `configure_model` (dareu.sharding); what cannot be sharded is refused, naming its stage."""
    devices = cfg.trainer.devices
    if not isinstance(devices, int) or isinstance(devices, bool):
        raise ConfigError(f"trainer.strategy=fsdp2 needs trainer.devices as a number of devices "
                          f"per node, got {devices!r}.")
    problems = {stage: p for stage in stages if (p := _fsdp2_problem(cfg, stage)) is not None}
    if not problems:
        return
    stage, (key, why, instead) = next(iter(problems.items()))
    where = f"`dareu {stage}`" if len(stages) == 1 else f"`dareu run` (its {stage} stage)"
    apart = ""
    if len(stages) > 1 and "unlearn" not in problems:  # unlearning, what fsdp2 is for, can run
        steps = ", ".join(f"`dareu {s} RECIPE{' trainer.strategy=ddp' if s in problems else ''}`"
                          for s in STAGES)
        apart = (f" Or run its stages one by one, RECIPE being this recipe with trainer.strategy="
                 f"fsdp2: {steps}, then `dareu report {cfg.run.output_dir}`.")
    raise ConfigError(f"trainer.strategy=fsdp2 with {key}: {why}, so {where} cannot run under "
                      f"fsdp2. {instead}.{apart}")


FOUR_BIT = "sharding bitsandbytes' 4-bit weights is not supported"


def _fsdp2_problem(cfg: Config, stage: str) -> tuple[str, str, str] | None:
    """(key, why, what to do instead) of the first thing `stage` cannot do under fsdp2, or None."""
    m = cfg.model
    if stage == "prepare":
        trains = cfg.finetune.pretrain_owners or not m.path or not m.oracle_path
        if trains and cfg.finetune.mode == "qlora":  # 4-bit QLoRA finetune of target / oracle
            return ("4-bit QLoRA (finetune.mode=qlora)", FOUR_BIT,
                    "Use trainer.strategy=ddp, or fsdp2 with finetune.mode=lora / full")
    if stage == "fit-attributor" and _attributor_mode(cfg) == "qlora":
        return ("4-bit QLoRA (attributor.options.mode=qlora)", FOUR_BIT,
                "Use trainer.strategy=ddp, or fsdp2 with attributor.options.mode=lora / full")
    if stage == "unlearn":
        if m.mode == "qlora":
            return ("4-bit QLoRA (model.mode=qlora)", FOUR_BIT,
                    "Use trainer.strategy=ddp, or fsdp2 with model.mode=lora / full")
        if m.mode == "lora" and "dareu" in cfg.unlearn.methods and cfg.unlearn.floor == "auto":
            return ("model.mode=lora and unlearn.floor=auto", "DareU measures its floor by "
                    "decoding with the reference, the policy with its adapters off, and peft's "
                    "generate on a sharded model skips the FSDP root that gathers the embeddings",
                    "Set unlearn.floor to a number (the `floor` a ddp run logs), or use "
                    "model.mode=full, or trainer.strategy=ddp")
        if m.merge_adapters:
            return ("model.merge_adapters=true", "merging the adapters of a sharded model is not "
                    "implemented", "Set model.merge_adapters=false and merge the saved adapter "
                    "afterwards")
        unsharded = _methods_without_configure_model(cfg)
        if unsharded:
            return (f"unlearn.methods {unsharded}", "their modules have no `configure_model` "
                    "hook, in which a module shards itself (Lightning's ModelParallelStrategy "
                    "refuses one without)",
                    "Give them one (dareu.sharding.configure_fsdp2), or run them with "
                    "trainer.strategy=ddp")
    return None


def _attributor_mode(cfg: Config) -> str | None:
    """How the reward's attributor trains a backbone through Lightning (the classifier's
    transformer expert), or None when it trains none."""
    from attributors.base import _make_config, get_attributor_class

    a = cfg.attributor
    config = _make_config(get_attributor_class(a.name), dict(a.options or {}))
    if "transformer" not in getattr(config, "experts", ()):
        return None
    return getattr(config, "mode", None)


def _methods_without_configure_model(cfg: Config) -> list[str]:
    from lightning import LightningModule

    from dareu.modules.registry import get_method

    return [name for name in cfg.unlearn.methods
            if get_method(name).configure_model is LightningModule.configure_model]


def _check_names(cfg: Config, corpus) -> None:
    """unlearn.reward.name_weight charges the forget owners' names: some must be known."""
    u = cfg.unlearn
    if u.reward.name_weight > 0 and "dareu" in u.methods and not corpus.forget_aliases:
        raise ConfigError(f"unlearn.reward.name_weight={u.reward.name_weight}: no forget owner of this corpus has "
                          "a name the records repeat (dareu.data.aliases found none), so there is "
                          "nothing to charge; set unlearn.reward.name_weight=0.")


def _check_methods(cfg: Config) -> None:
    from dareu.modules.registry import get_method

    for name in cfg.unlearn.methods:
        get_method(name)  # ConfigError naming unlearn.methods and the available ones


def _check_attributors(cfg: Config) -> None:
    """The reward's attributor with its options, and each extra one with its default options."""
    from attributors.base import AttributorError, _make_config, get_attributor_class
    from attributors.names import check_attributor_names

    a = cfg.attributor
    check_attributor_names("attributor.name", [a.name])
    check_attributor_names("eval.attributors", cfg.eval.attributors)
    try:
        config = _make_config(get_attributor_class(a.name), dict(a.options or {}))
    except AttributorError as e:
        raise ConfigError(f"attributor.options: {e}") from None
    backbone = getattr(config, "backbone", None)
    if isinstance(backbone, str) and _looks_local(backbone) and not Path(backbone).is_dir():
        raise ModelError(f"attributor.options.backbone={backbone!r}: no such folder (expected a "
                         "Hugging Face model folder or a hub id).")
    for name in cfg.eval.attributors:
        try:
            _make_config(get_attributor_class(name), {})
        except AttributorError as e:
            raise ConfigError(f"eval.attributors: {e}") from None


def _check_model_folders(cfg: Config) -> None:
    from dareu.models import _check_local

    m = cfg.model
    for key in ("path", "oracle_path", "base_path"):
        value = getattr(m, key)
        if value:
            try:
                _check_local(value, m)
            except ModelError as e:
                raise ModelError(f"model.{key}: {e}") from None
    if m.tokenizer_path:
        try:
            _check_local(m.tokenizer_path, m, need_weights=False)
        except ModelError as e:
            raise ModelError(f"model.tokenizer_path: {e}") from None


def _looks_local(path: str) -> bool:
    return path.startswith(("/", ".", "~")) or Path(path).exists()
