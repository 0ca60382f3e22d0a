"""A user's attributor beside the recipe, reached from the CLI without PYTHONPATH: by import path
(`attributor.name: mymod:MyAttributor`) or by its decorator name once `imports:` lists the module."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

import attributors.base as base
from dareu.cli import main
from tests.conftest import TINY_RUN

MYMOD = '''
from dataclasses import dataclass

import torch

from attributors import Attributor, register_attributor


@dataclass
class Config:
    bias: float = 1.0


@register_attributor("first_owner")
class MyAttributor(Attributor):
    """All attribution to the first owner (a stand-in: what matters is that DareU finds it)."""

    Config = Config

    def fit(self, corpus):
        self.owners = list(corpus.owners)
        return self

    def score(self, prompts, responses):
        out = torch.zeros(len(responses), len(self.owners))
        out[:, 0] = self.config.bias
        return out
'''


@pytest.fixture
def recipe_dir(tmp_path, monkeypatch):
    """A recipe folder with mymod.py beside it; the CLI runs from another folder."""
    monkeypatch.setattr(base.ATTRIBUTORS, "classes", dict(base.ATTRIBUTORS.classes))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "mymod", raising=False)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "mymod.py").write_text(MYMOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def _recipe(folder, **sections) -> str:
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(sections))
    return str(path)


def test_import_path_beside_the_recipe_and_decorator_name_through_imports(recipe_dir, tmp_path):
    out = tmp_path / "run"
    common = [o for o in TINY_RUN if not o.startswith("attributor.")] + ["finetune.epochs=1", "eval.attributors=[]", f"run.output_dir={out}"]
    recipe = _recipe(recipe_dir, attributor={"name": "mymod:MyAttributor", "options": {"bias": 2.0}})
    assert main(["prepare", recipe, *common]) == 0
    assert main(["fit-attributor", recipe, *common]) == 0
    saved = json.loads((out / "attributor" / "attributor.json").read_text())
    assert saved["name"] == "first_owner" and saved["config"] == {"bias": 2.0}

    by_name = _recipe(recipe_dir, imports=["mymod"], attributor={"name": "first_owner"})
    assert main(["fit-attributor", by_name, *common]) == 0
    assert json.loads((out / "attributor" / "attributor.json").read_text())["config"] == {"bias": 1.0}


def test_a_missing_import_names_the_entry(recipe_dir, capsys):
    recipe = _recipe(recipe_dir, imports=["not_there"])
    assert main(["prepare", recipe]) == 2
    assert "imports[0]='not_there' is invalid: cannot import it" in capsys.readouterr().err
