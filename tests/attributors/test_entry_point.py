"""A user's attributor (examples/keyword_attributor.py) reached without editing DareU:
through the `dareu.attributors` entry-point group of an installed distribution, or by import path."""

import importlib.metadata
from pathlib import Path

import pytest
import torch

import attributors.base as base
from attributors import build_attributor, load_attributor
from attributors.base import AttributorContext
from attributors.masking import AliasMasker, mask_corpus
from dareu.config import load_config
from dareu.data.synthetic import synthetic_corpus
from dareu.reward import DeAttributionReward

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def isolated_registry(monkeypatch):
    monkeypatch.setattr(base.ATTRIBUTORS, "classes", dict(base.ATTRIBUTORS.classes))
    monkeypatch.syspath_prepend(str(EXAMPLES))


@pytest.fixture
def installed_keyword(tmp_path, isolated_registry, monkeypatch):
    """What `pip install` of a package declaring the entry point leaves on sys.path."""
    dist = tmp_path / "site" / "my_keyword_attributor-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-keyword-attributor\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text("[dareu.attributors]\n"
                                           "keyword = keyword_attributor:KeywordAttributor\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()


def _corpus():
    c = synthetic_corpus(num_owners=6, qa_per_owner=4, num_holdout_owners=0)
    return c, mask_corpus(c, AliasMasker(c.aliases))


def test_entry_point_through_recipe(installed_keyword, tmp_path):
    assert "keyword" in base.available_attributors()
    cfg = load_config(None, ["attributor.name=keyword", "attributor.options.min_word_length=5"])
    att = build_attributor(cfg.attributor.name, cfg.attributor.options,
                           AttributorContext(sees=cfg.attributor.sees))
    raw, corpus = _corpus()
    att.fit(corpus)
    assert att.config.min_word_length == 5 and att.name == "keyword"
    scores = att.score([r.prompt for r in corpus.records], [r.response for r in corpus.records])
    assert scores.shape == (len(corpus.records), len(corpus.owners)) and (scores >= 0).all()
    labels = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    assert (scores.argmax(-1) == labels).float().mean() > 0.9

    att.save(tmp_path / "att")
    again = load_attributor(tmp_path / "att")                    # resolved by name again
    assert torch.equal(again.score(["q"], ["Born in Lisbon"]), att.score(["q"], ["Born in Lisbon"]))

    reward = DeAttributionReward(att, raw.forget_owners, masker=AliasMasker(raw.aliases))
    forget = raw.forget[0]
    mass = reward.forget_mass([forget.prompt], [forget.response])
    assert 0.5 < mass.item() <= 1.0                              # counts normalised to a share


def test_entry_point_options_checked(installed_keyword):
    with pytest.raises(base.AttributorError, match="min_word_lenght.*did you mean min_word_length"):
        build_attributor("keyword", {"min_word_lenght": 3})


def test_import_path_route(isolated_registry):
    cfg = load_config(None, ["attributor.name=keyword_attributor:KeywordAttributor"])
    att = build_attributor(cfg.attributor.name, cfg.attributor.options)
    _, corpus = _corpus()
    scores = att.fit(corpus).score([""], [corpus.records[0].response])
    assert scores.argmax().item() == corpus.owners.index(corpus.records[0].owner)
