import dataclasses

import pytest
import torch

from attributors import Attributor, AttributorError, build_attributor, register_attributor
from attributors.base import available_attributors, get_attributor_class, load_attributor
from attributors.classifier import ClassifierAttributor


@register_attributor("test-constant")
class ConstantAttributor(Attributor):
    """Fixed per-owner weights: enough to test the registry and save/load."""

    @dataclasses.dataclass
    class Config:
        weight: float = 1.0
        """Score of every owner."""

    def fit(self, corpus):
        self.owners = list(corpus.owners)
        self.weights = torch.full((len(self.owners),), self.config.weight)
        return self

    def score(self, prompts, responses):
        return self.weights.expand(len(responses), -1).clone()

    def state_dict(self):
        return {"weights": self.weights}

    def load_state_dict(self, state):
        self.weights = state["weights"]


def test_builtin_classifier_by_name():
    assert get_attributor_class("classifier") is ClassifierAttributor
    assert "classifier" in available_attributors() and "test-constant" in available_attributors()


def test_unknown_name_lists_available():
    with pytest.raises(AttributorError) as e:
        get_attributor_class("clasifier")
    msg = str(e.value)
    assert "'clasifier'" in msg and "classifier" in msg and "test-constant" in msg
    assert "package.module:Class" in msg and "dareu.attributors" in msg


def test_unknown_option_did_you_mean():
    with pytest.raises(AttributorError, match=r"epoch \(did you mean epochs\?\)"):
        build_attributor("classifier", {"epoch": 3})
    with pytest.raises(AttributorError, match="weight"):
        build_attributor("test-constant", {"wieght": 2.0})


def test_invalid_option_value():
    with pytest.raises(AttributorError, match=r"options\.holdout_fraction=1\.5"):
        build_attributor("classifier", {"holdout_fraction": 1.5})
    with pytest.raises(AttributorError, match="mode"):
        build_attributor("classifier", {"mode": "lora"})  # LoRA needs a hub backbone


def test_save_load_roundtrip(tmp_path):
    from dareu.data.synthetic import synthetic_corpus

    corpus = synthetic_corpus(num_owners=4, qa_per_owner=2, num_holdout_owners=0)
    att = build_attributor("test-constant", {"weight": 2.5}).fit(corpus)
    att.save(tmp_path)
    loaded = load_attributor(tmp_path)
    assert isinstance(loaded, ConstantAttributor) and loaded.owners == corpus.owners
    assert loaded.config.weight == 2.5
    assert torch.equal(loaded.score(["q"], ["a"]), att.score(["q"], ["a"]))


def test_load_missing_folder(tmp_path):
    with pytest.raises(AttributorError, match="fit-attributor"):
        load_attributor(tmp_path)


def test_import_path_not_an_attributor():
    with pytest.raises(AttributorError, match="not a subclass"):
        get_attributor_class("collections:OrderedDict")
    with pytest.raises(AttributorError, match="cannot import"):
        get_attributor_class("no_such_package_xyz.mod:Thing")
    with pytest.raises(AttributorError, match="has no `Nope`"):
        get_attributor_class("collections:Nope")


def test_sees_prompt_and_response():
    from attributors.base import AttributorContext

    att = ConstantAttributor(context=AttributorContext(sees="prompt+response"))
    assert att.texts(["Q?"], ["A."]) == ["Q?\nA."]
    assert ConstantAttributor().texts(["Q?"], ["A."]) == ["A."]
    with pytest.raises(AttributorError, match="one prompt per response"):
        att.texts(["Q?"], ["A.", "B."])


def test_import_path_of_a_registered_class_keeps_its_name():
    cls = get_attributor_class("attributors.classifier:ClassifierAttributor")
    assert cls is ClassifierAttributor and cls.name == "classifier"
