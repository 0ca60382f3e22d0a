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


def preflight(run: Run) -> None:
    """Raise a DareUError naming the first key of the run's recipe that cannot work; return when
    all can. The corpus is read through `run.corpus`, so the stages reuse it instead of reading
    it again."""
    from dareu.trainer import check_environment

    cfg = run.cfg
    check_environment(cfg)  # no CUDA, impossible strategy combinations
    _check_methods(cfg)
    _check_attributors(cfg)
    _check_model_folders(cfg)
    _check_names(cfg, run.corpus)  # reading it raises the data errors: files, columns, owners


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
