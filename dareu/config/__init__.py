"""Typed recipe configuration: one dataclass per concern, every default in exactly one place.

A recipe is a YAML file whose top-level keys are the fields of `Config`; command-line overrides are
dotted `key=value` pairs. `load_config` merges both onto the structured schema, so an unknown key, a
wrong type or an invalid value becomes a `ConfigError` that names the key and what was expected.
"""

from dareu.config.attributor import AttributorConfig, _check_attributor_names, attributor_slug
from dareu.config.checks import _check, _positive
from dareu.config.data import DataConfig
from dareu.config.evaluation import ATTACKS, EVAL_EXTRAS, AttackConfig, EvalConfig, metric_settings
from dareu.config.loading import _explain, _parse_overrides, _read_recipe, _schema_fields, load_config
from dareu.config.model import MODES, FinetuneConfig, ModelConfig
from dareu.config.recipe import Config
from dareu.config.run import RunConfig, TrainerConfig
from dareu.config.serialise import config_hash, save_config, to_dict
from dareu.config.unlearn import BaselineConfig, UnlearnConfig

__all__ = [
    "ATTACKS", "AttackConfig", "AttributorConfig", "BaselineConfig", "Config", "DataConfig", "EVAL_EXTRAS", "EvalConfig",
    "FinetuneConfig", "MODES", "ModelConfig", "RunConfig", "TrainerConfig", "UnlearnConfig",
    "attributor_slug", "config_hash", "load_config", "metric_settings", "save_config", "to_dict",
    # private helpers, re-exported so `from dareu.config import _check` keeps working
    "_check", "_check_attributor_names", "_explain", "_parse_overrides", "_positive",
    "_read_recipe", "_schema_fields",
]
