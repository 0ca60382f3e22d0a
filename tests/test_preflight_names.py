from types import SimpleNamespace

import pytest

from dareu.config import load_config
from dareu.errors import ConfigError
from dareu.preflight import _check_names


def _corpus(aliases):
    return SimpleNamespace(forget_owners=["bob"], aliases=aliases)


def test_name_weight_needs_a_forget_owner_name():
    cfg = load_config("recipes/quickstart.yaml", ["unlearn.name_weight=0.5"])
    with pytest.raises(ConfigError, match="unlearn.name_weight=0.5"):
        _check_names(cfg, _corpus({"bob": [], "alice": ["Alice Smith"]}))
    _check_names(cfg, _corpus({"bob": ["Bob Baker"]}))                      # names known: fine
    off = load_config("recipes/quickstart.yaml", [])
    _check_names(off, _corpus({}))                                          # 0: nothing to check
