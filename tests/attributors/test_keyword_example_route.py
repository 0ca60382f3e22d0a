"""The shipped examples/keyword_attributor.py, used the way its docstring and docs/attributors.md
say: the file beside the recipe, `imports: [keyword_attributor]`, `attributor.name: keyword`, and
`dareu run` from another folder (fit, reward DareU with it, evaluate with it)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

import attributors.base as base
from dareu.cli import main
from tests.conftest import TINY_RUN

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keyword_attributor.py"
FAST = ["unlearn.methods=[dareu]", "unlearn.steps=1", "unlearn.sampling.prompts_per_step=2",
        "unlearn.sampling.group_size=2", "unlearn.sampling.max_new_tokens=8", "unlearn.retain.batch_size=2",
        "finetune.epochs=1", "eval.attributors=[]", "eval.max_new_tokens=8",
        "eval.metrics=[attribution]"]  # the evaluate stage scores with the keyword attributor


@pytest.fixture
def recipe(tmp_path, monkeypatch) -> Path:
    """The example copied beside a recipe that selects it by its registered name."""
    monkeypatch.setattr(base.ATTRIBUTORS, "classes", dict(base.ATTRIBUTORS.classes))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "keyword_attributor", raising=False)  # its decorator must run
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump({"imports": ["keyword_attributor"],
                                    "attributor": {"name": "keyword",
                                                   "options": {"min_word_length": 5}}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return path


@pytest.mark.slow
def test_keyword_example_by_name_through_imports_in_dareu_run(recipe, tmp_path):
    out = tmp_path / "run"
    tiny = [o for o in TINY_RUN if not o.startswith("attributor.")]
    assert main(["run", str(recipe), *tiny, *FAST, f"run.output_dir={out}"]) == 0
    saved = json.loads((out / "attributor" / "attributor.json").read_text())
    assert saved["name"] == "keyword" and saved["config"] == {"min_word_length": 5}
    assert (out / "attributor" / "keywords.json").is_file()
    evaluated = json.loads((out / "eval" / "dareu" / "TOFU_SUMMARY.json").read_text())
    assert 0 <= evaluated["forget_attribution_mass"] <= 1
