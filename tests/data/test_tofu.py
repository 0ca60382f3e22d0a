"""The TOFU loader: each check on the made-up TOFU (tests/tofu_fake.py) and, where DAREU_TOFU_DIR
is set, on the real data with the real numbers (tests/tofu_shape.py)."""

import json
import shutil

import pytest

from dareu.config import DataConfig
from dareu.data import build_corpus
from dareu.data.corpus import GENERAL_OWNER
from dareu.data.tofu import _read_split, tofu_corpus
from dareu.errors import DataError
from tests.tofu_fake import AUTHORS


@pytest.fixture(scope="module")
def forget10(tofu):
    return tofu_corpus(str(tofu.path), "forget10"), tofu.shape


def test_full_split_owners(tofu):
    full = _read_split(str(tofu.path), "full")
    assert len(full) == 20 * tofu.shape.authors
    assert len({i // 20 for i in range(len(full))}) == tofu.shape.authors


def test_forget10_counts(forget10):
    c, shape = forget10
    first = shape.authors - shape.forget["forget10"]
    assert len(c.owners) == shape.authors
    assert c.forget_owners == [f"author_{i:03d}" for i in range(first, shape.authors)]
    assert len(c.forget) == 20 * shape.forget["forget10"] and len(c.retain) == 20 * first
    assert c.forget[0].id == f"tofu-{20 * first}"
    assert c.forget[0].prompt.startswith("What is the full name")


@pytest.mark.parametrize("split", ["forget01", "forget05"])
def test_smaller_splits(tofu, split):
    c = tofu_corpus(str(tofu.path), split)
    authors, total = tofu.shape.forget[split], tofu.shape.authors
    assert c.forget_owners == [f"author_{i:03d}" for i in range(total - authors, total)]
    assert len(c.forget) == 20 * authors
    assert len(c.retain) == 20 * (total - authors)
    assert len(c.holdout) == 20 * authors


def test_holdout_and_test_sets(forget10, tofu):
    c, shape = forget10
    assert len(c.holdout) == 20 * shape.forget["forget10"]
    assert c.holdout[0].id == "tofu-holdout-0" and c.holdout[0].owner == "holdout_000"
    assert c.holdout[-1].owner == f"holdout_{shape.forget['forget10'] - 1:03d}"
    assert len(c.test_sets["real_authors"]) == shape.real_authors
    assert len(c.test_sets["world_facts"]) == shape.world_facts
    for r in c.test:
        assert r.owner == GENERAL_OWNER
        assert len(r.perturbed_responses) == 3
        assert r.paraphrased_response == r.response
    assert c.test_sets["world_facts"][0].id == "tofu-world-0"
    first = json.loads((tofu.path / "real_authors_perturbed.json").open().readline())
    assert c.test_sets["real_authors"][0].response == first["answer"]


def test_extras(forget10):
    c, shape = forget10
    for r in c.forget:
        assert len(r.perturbed_responses) == 5
        assert r.paraphrased_response and r.paraphrased_prompt
    rows = shape.perturbed_retain_rows
    with_extras = [r for r in c.retain if r.perturbed_responses]
    # retain_perturbed = the first rows of full; a question that full asks twice (inside and
    # outside those rows) gets the extras only at its row inside them.
    inside, outside = shape.repeated_question_rows
    assert inside < rows <= outside
    assert c.records[inside].prompt == c.records[outside].prompt
    assert sorted(int(r.id.split("-")[1]) for r in with_extras) == list(range(rows))
    assert not [r for r in c.retain if r.paraphrased_response and int(r.id.split("-")[1]) >= rows]
    assert all(not r.perturbed_responses for r in c.holdout)


def test_max_retain_owners(tofu_dir):
    c = tofu_corpus(str(tofu_dir), "forget10", max_retain_owners=5)
    assert len(c.retain_owners) == 5 and len(c.retain) == 100
    assert len(c.forget) == 80


def test_explicit_forget_owners(tofu_dir):
    c = tofu_corpus(str(tofu_dir), "forget10", forget_owners=["author_000", "author_001"])
    assert c.forget_owners == ["author_000", "author_001"]
    assert len(c.forget) == 40 and len(c.retain) == 20 * (len(AUTHORS) - 2)
    with pytest.raises(DataError, match="author_999"):
        tofu_corpus(str(tofu_dir), "forget10", forget_owners=["author_999"])


def test_aliases_inferred(forget10):
    c, shape = forget10
    for owner, name in shape.names.items():
        assert name in c.aliases[owner]
    a = c.aliases["author_000"]
    assert a == sorted(a, key=len, reverse=True)
    assert "holdout_000" in c.aliases


def _without_terms(tofu, tmp_path):
    for f in tofu.glob("*.json"):
        if not f.name.endswith("_terms.json"):
            (tmp_path / f.name).symlink_to(f)
    return tofu_corpus(str(tmp_path), "forget10")


def test_aliases_without_terms_file(tofu, tmp_path):
    # the inference must work on its own, without forget10_terms.json
    c = _without_terms(tofu.path, tmp_path)
    for owner, name in tofu.shape.names.items():
        assert name in c.aliases[owner]
    named = sum(any(" " in s for s in c.aliases[o]) for o in c.forget_owners)
    assert named >= tofu.shape.named_without_terms


def test_terms_file_adds_names_the_inference_misses(tofu_dir, tmp_path):
    # a mother's name, said in one QA of the author's 20, is too rare to infer but is a term
    mother = AUTHORS[-1][2]
    assert mother in tofu_corpus(str(tofu_dir), "forget10").aliases["author_011"]
    assert mother not in _without_terms(tofu_dir, tmp_path).aliases["author_011"]


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        tofu_corpus(str(tmp_path / "nope"))


def test_missing_file(tofu_dir, tmp_path):
    shutil.copy(tofu_dir / "full.json", tmp_path / "full.json")
    with pytest.raises(DataError, match=r"forget10\.json not found"):
        tofu_corpus(str(tmp_path))


def test_forget_row_not_in_full(tofu_dir, tmp_path):
    for f in tofu_dir.glob("*.json"):
        if f.name != "forget10.json":
            (tmp_path / f.name).symlink_to(f)
    lines = (tofu_dir / "forget10.json").read_text().splitlines()
    lines[3] = '{"question": "Who is nobody?", "answer": "Nobody."}'
    (tmp_path / "forget10.json").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="row 4.*not a row of full"):
        tofu_corpus(str(tmp_path))


def test_hub_id_without_datasets(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_datasets(name, *a, **k):
        if name == "datasets":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(DataError, match=r"pip install datasets.*dareu\[hub\]"):
        _read_split("locuslab/TOFU", "full")


def test_build_corpus_dispatch(tofu_dir):
    c = build_corpus(DataConfig(source="tofu", path=str(tofu_dir), tofu_split="forget01",
                                max_retain_owners=5), seed=0)
    assert c.name == "tofu-forget01"
    assert len(c.forget) == 40 and len(c.retain) == 100
