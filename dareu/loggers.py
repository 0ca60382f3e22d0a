"""Lightning loggers and callbacks from the recipe's trainer section.

Every training stage keeps a `CSVLogger` under `logs/<stage>/` because the report and the unlearn
stage read its metrics.csv; `trainer.logger` adds one of Lightning's own loggers beside it, and
`trainer.callbacks` adds the user's callbacks (built fresh for every Trainer: callbacks hold state).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any

from dareu.config import TrainerConfig
from dareu.errors import ConfigError, EnvironmentProblem
from dareu.registry import import_object

# trainer.logger -> (Lightning class, the packages it can use, what to install)
LOGGER_CLASSES = {
    "tensorboard": ("TensorBoardLogger", ("tensorboard", "tensorboardX"), "tensorboard"),
    "wandb": ("WandbLogger", ("wandb",), "wandb"),
    "mlflow": ("MLFlowLogger", ("mlflow",), "mlflow"),
}


def _logger_class(name: str) -> type:
    import lightning.pytorch.loggers as loggers

    cls_name, packages, install = LOGGER_CLASSES[name]
    if not any(importlib.util.find_spec(p) for p in packages):
        raise EnvironmentProblem(f"trainer.logger={name} needs the `{packages[0]}` package, which is "
                                 f"not installed: pip install {install} (or pip install "
                                 f"'dareu[{name}]'), or set trainer.logger=csv.")
    return getattr(loggers, cls_name)


def _logger_kwargs(name: str, log_dir: Path, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    """Where each logger writes by default: inside the run's logs/ folder, one run per stage."""
    if name == "tensorboard":
        kw = dict(save_dir=str(log_dir / "tensorboard"), name=stage, version="")
    elif name == "wandb":
        kw = dict(save_dir=str(log_dir), name=stage, project="dareu")
    else:  # mlflow
        kw = dict(experiment_name="dareu", run_name=stage,
                  tracking_uri=f"file:{(log_dir / 'mlruns').resolve()}")
    return {**kw, **options}


def check_logger(cfg: TrainerConfig) -> None:
    """The logger's package is installed and its options are keywords of its class."""
    if cfg.logger == "csv":
        if cfg.logger_options:
            raise ConfigError(f"trainer.logger_options={cfg.logger_options!r} is set but "
                              "trainer.logger=csv takes no options (the CSV is always written).")
        return
    _check_kwargs(_logger_class(cfg.logger), cfg.logger_options, "trainer.logger_options",
                  f"trainer.logger={cfg.logger}")


def make_loggers(cfg: TrainerConfig, log_dir: str | Path, stage: str,
                 flush_every: int | None = None) -> list:
    """The CSV logger the report reads, plus the recipe's logger."""
    from lightning.pytorch.loggers import CSVLogger

    csv_kw = {} if flush_every is None else {"flush_logs_every_n_steps": flush_every}
    out = [CSVLogger(str(log_dir), name=stage, version="", **csv_kw)]
    if cfg.logger != "csv":
        cls = _logger_class(cfg.logger)
        out.append(cls(**_logger_kwargs(cfg.logger, Path(log_dir), stage, cfg.logger_options)))
    return out


def make_callbacks(cfg: TrainerConfig) -> list:
    """One fresh instance of each callback of trainer.callbacks (a ConfigError names the entry)."""
    from lightning.pytorch.callbacks import Callback

    out = []
    for i, entry in enumerate(cfg.callbacks):
        key = f"trainer.callbacks[{i}]"
        path = entry if isinstance(entry, str) else entry["class_path"]
        init_args = {} if isinstance(entry, str) else dict(entry.get("init_args") or {})
        cls = import_object(path, key, shown=path, dotted=True)  # pkg.mod:Class or pkg.mod.Class
        if not (isinstance(cls, type) and issubclass(cls, Callback)):
            raise ConfigError(f"{key}={path!r} is invalid: expected a lightning Callback subclass, "
                              f"got {cls!r}.")
        _check_kwargs(cls, init_args, f"{key}.init_args", path)
        try:
            out.append(cls(**init_args))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{key}.init_args={init_args!r} is invalid for {path}: {e}") from None
    return out


def _check_kwargs(cls: type, kwargs: dict, key: str, what: str) -> None:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return  # the class forwards extra keywords (e.g. to wandb.init): it checks them itself
    unknown = sorted(set(kwargs) - set(params) - {"self"})
    if unknown:
        valid = ", ".join(n for n in params if n != "self")
        raise ConfigError(f"{key} has unknown keys for {what}: {', '.join(unknown)}. Valid: {valid}.")
