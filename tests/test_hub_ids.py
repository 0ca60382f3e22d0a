"""Hub ids wherever a folder is accepted: a model in the local Hugging Face cache is used offline
(the cache is built here, laid out as huggingface_hub writes it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dareu.errors import ModelError
from dareu.hub import is_hub_id, local_model_dir
from tests.conftest import REPO

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"
SMALL = ["data.num_owners=4", "data.qa_per_owner=3", "data.num_holdout_owners=0",
         "data.num_test_questions=2", "model.max_length=48", "trainer.accelerator=cpu",
         "trainer.devices=1", "trainer.enable_progress_bar=false", "run.threads=1"]


def cache_with_model(hub: "os.PathLike", repo: str) -> None:
    """A tiny Llama-shaped model and its tokenizer as `repo` in the cache folder `hub`."""
    from dareu.config import load_config
    from dareu.data import build_corpus
    from dareu.models import build_tiny_model, train_tokenizer

    cfg = load_config(None, SMALL + ["model.arch=llama", "model.n_layer=1", "model.n_embd=32",
                                     "model.n_head=2", "model.vocab_size=300"])
    tok = train_tokenizer(build_corpus(cfg.data, 0).all_texts(), cfg.model.vocab_size)
    root = hub / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / SNAPSHOT
    build_tiny_model(cfg.model, tok, 0).save_pretrained(snap, safe_serialization=True)
    tok.save_pretrained(snap)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(SNAPSHOT)


def test_hub_ids_and_local_paths_are_told_apart(tmp_path):
    assert is_hub_id("locuslab/tofu_ft_llama2-7b") and is_hub_id("gpt2")
    assert not is_hub_id(str(tmp_path)) and not is_hub_id("./model") and not is_hub_id("a/b/c")
    assert local_model_dir(tmp_path, "model.path") == tmp_path


@pytest.mark.slow
def test_influence_with_a_hub_id_from_the_offline_cache(tmp_path):
    """The CLI in a fresh process, so HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE act as for a user."""
    hub = tmp_path / "hf" / "hub"
    cache_with_model(hub, "dareu-test/tiny-target")
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1",
               PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    out, recipe = tmp_path / "run", tmp_path / "recipe.yaml"
    recipe.write_text("{}\n")
    cmd = [sys.executable, "-m", "dareu.cli", "fit-attributor", str(recipe), *SMALL,
           "model.path=dareu-test/tiny-target", "attributor.name=influence",
           "attributor.options={batch_size: 8}", f"run.output_dir={out}"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.loads((out / "attributor" / "gradient_attributor.json").read_text())
    assert meta["model_path"].startswith(str(hub)) and SNAPSHOT in meta["model_path"]
    assert json.loads((out / "attributor" / "attributor.json").read_text())["name"] == "influence"


def test_an_uncached_hub_id_offline_says_where_it_looked(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError, match=r"model\.path='nobody/nothing' is not a local folder.*cache"):
        local_model_dir("nobody/nothing", "model.path")
