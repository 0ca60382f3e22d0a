"""Recipe loading: every user mistake is a ConfigError naming the key and what was expected."""

import re
from pathlib import Path

import pytest

from dareu.config import Config, config_hash, load_config
from dareu.errors import ConfigError

RECIPES = sorted((Path(__file__).parents[1] / "recipes").glob("*.yaml"))


def test_defaults_and_overrides():
    cfg = load_config(None, ["unlearn.steps=7", "data.num_owners=5", "trainer.devices=2"])
    assert isinstance(cfg, Config)
    assert cfg.unlearn.steps == 7 and cfg.data.num_owners == 5 and cfg.trainer.devices == 2


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.name for p in RECIPES])
def test_every_recipe_loads(recipe):
    cfg = load_config(recipe)
    assert cfg.run.output_dir


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ConfigError, match=r"unknown key `unlearn.stepz`.*Did you mean `unlearn.steps`"):
        load_config(None, ["unlearn.stepz=3"])


def test_unknown_section():
    with pytest.raises(ConfigError, match=r"unknown key `modle`.*Did you mean `model`"):
        load_config(None, ["modle.n_layer=3"])


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match=r"`finetune.epochs` has the wrong type"):
        load_config(None, ["finetune.epochs=many"])


@pytest.mark.parametrize("override,key", [("finetune.batch_size=0", "finetune.batch_size"),
                                          ("unlearn.lr=-1", "unlearn.lr"),
                                          ("model.mode=int8", "model.mode"),
                                          ("data.source=hub", "data.source"),
                                          ("model.n_embd=30", "model.n_embd"),
                                          ("data.template=Q:", "data.template"),
                                          ("unlearn.floor=1.5", "unlearn.floor")])
def test_invalid_values(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_malformed_yaml_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("data:\n  source: synthetic\n   oops: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML at line"):
        load_config(p)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["unlearn.steps"])


def test_config_hash_tracks_changes():
    a, b = load_config(None), load_config(None, ["data.num_owners=9"])
    assert config_hash(a.data) != config_hash(b.data)
    assert config_hash(a.data) == config_hash(load_config(None).data)


def test_eval_attributors_defaults_to_none_and_takes_registered_names():
    assert load_config(None).eval.attributors == []
    cfg = load_config(None, ["eval.attributors=[influence,trak]"])
    assert cfg.eval.attributors == ["influence", "trak"]


def test_eval_attributors_rejects_repeated_names():
    """Unknown names are the registry's to find, in preflight (tests/test_preflight_names.py)."""
    with pytest.raises(ConfigError, match=r"eval\.attributors=.*each attributor once \(repeated: trak\)"):
        load_config(None, ["eval.attributors=[trak,trak]"])


def test_unlearn_lr_defaults_by_mode_and_an_explicit_lr_wins():
    from dareu.config import load_config

    assert load_config(None, ["model.mode=full"]).unlearn.lr == 1e-4
    assert load_config(None, ["model.mode=lora"]).unlearn.lr == 1e-3
    assert load_config(None, ["model.mode=qlora"]).unlearn.lr == 1e-3
    assert load_config(None, ["model.mode=qlora", "unlearn.lr=2e-4"]).unlearn.lr == 2e-4


@pytest.mark.parametrize("override,message", [
    ("unlearn.group_size=4", "`unlearn.group_size` is now `unlearn.sampling.group_size`"),
    ("unlearn.fluency_margin=1", "`unlearn.fluency_margin` is now `unlearn.reward.fluency.margin`"),
    ("unlearn.let_go=0.05", "`unlearn.let_go` was replaced by `unlearn.floor`"),
    ("unlearn.minibatches=2", "`unlearn.minibatches` was removed")])
def test_an_old_unlearn_key_names_its_new_place(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, [override])


def test_an_old_key_in_a_recipe_names_its_new_place(tmp_path):
    recipe = tmp_path / "old.yaml"
    recipe.write_text("unlearn:\n  ppo_epochs: 1\n")
    with pytest.raises(ConfigError, match=re.escape("`unlearn.ppo_epochs` is now `unlearn.objective.epochs`")):
        load_config(recipe)
