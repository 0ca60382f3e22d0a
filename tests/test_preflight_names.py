import pytest

from dareu.config import load_config
from dareu.data.corpus import OwnerCorpus, Record
from dareu.errors import ConfigError
from dareu.preflight import _check_attributors, _check_names


def _corpus(aliases):
    return OwnerCorpus("names", [Record("b1", "bob", "q?", "a."), Record("a1", "alice", "q?", "a.")],
                       forget_owners=["bob"], retain_owners=["alice"], aliases=aliases)


def test_name_weight_needs_a_forget_owner_name():
    cfg = load_config("recipes/quickstart.yaml", ["unlearn.reward.name_weight=0.5"])
    with pytest.raises(ConfigError, match="unlearn.reward.name_weight=0.5"):
        _check_names(cfg, _corpus({"bob": [], "alice": ["Alice Smith"]}))
    _check_names(cfg, _corpus({"bob": ["Bob Baker"]}))                      # names known: fine
    off = load_config("recipes/quickstart.yaml", [])
    _check_names(off, _corpus({}))                                          # 0: nothing to check


@pytest.mark.parametrize("value,why", [("[influenze]", r"unknown attributor 'influenze'\. "
                                                       r"Did you mean 'influence'\?"),
                                       ("[no_such.module:Cls]", r"cannot import module")])
def test_eval_attributors_must_name_registered_attributors(value, why):
    """The config loads them (it imports no attributor); preflight looks each up in the registry."""
    cfg = load_config(None, [f"eval.attributors={value}"])
    with pytest.raises(ConfigError, match=r"eval\.attributors=.*" + why):
        _check_attributors(cfg)
    _check_attributors(load_config(None, ["eval.attributors=[influence,trak]"]))
