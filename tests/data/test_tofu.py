import shutil

import pytest

from dareu.config import DataConfig
from dareu.data import build_corpus
from dareu.data.corpus import GENERAL_OWNER
from dareu.data.tofu import _read_split, tofu_corpus
from dareu.errors import DataError


@pytest.fixture(scope="module")
def forget10(tofu_dir):
    return tofu_corpus(str(tofu_dir), "forget10")


def test_full_split_owners(tofu_dir):
    full = _read_split(str(tofu_dir), "full")
    assert len(full) == 4000
    assert len({i // 20 for i in range(len(full))}) == 200


def test_forget10_counts(forget10):
    c = forget10
    assert len(c.owners) == 200
    assert c.forget_owners == [f"author_{i:03d}" for i in range(180, 200)]
    assert len(c.forget) == 400 and len(c.retain) == 3600
    assert c.forget[0].id == "tofu-3600" and c.forget[0].prompt.startswith("What is the full name")


@pytest.mark.parametrize("split,authors,records", [("forget01", 2, 40), ("forget05", 10, 200)])
def test_smaller_splits(tofu_dir, split, authors, records):
    c = tofu_corpus(str(tofu_dir), split)
    assert c.forget_owners == [f"author_{i:03d}" for i in range(200 - authors, 200)]
    assert len(c.forget) == records
    assert len(c.retain) == 4000 - records
    assert len(c.holdout) == records


def test_holdout_and_test_sets(forget10):
    c = forget10
    assert len(c.holdout) == 400
    assert c.holdout[0].id == "tofu-holdout-0" and c.holdout[0].owner == "holdout_000"
    assert c.holdout[-1].owner == "holdout_019"
    assert len(c.test_sets["real_authors"]) == 100
    assert len(c.test_sets["world_facts"]) == 117
    for r in c.test:
        assert r.owner == GENERAL_OWNER
        assert len(r.perturbed_responses) == 3
        assert r.paraphrased_response == r.response
    assert c.test_sets["world_facts"][0].id == "tofu-world-0"
    assert c.test_sets["real_authors"][0].response == "William Shakespeare"


def test_extras(forget10):
    c = forget10
    for r in c.forget:
        assert len(r.perturbed_responses) == 5
        assert r.paraphrased_response and r.paraphrased_prompt
    with_extras = [r for r in c.retain if r.perturbed_responses]
    # retain_perturbed = the first 400 rows of full; "What is the full name of the author?" occurs
    # twice in full (rows 100 and 440): only row 100 may get the extras.
    assert sorted(int(r.id.split("-")[1]) for r in with_extras) == list(range(400))
    assert not [r for r in c.retain if r.paraphrased_response and int(r.id.split("-")[1]) >= 400]
    assert all(not r.perturbed_responses for r in c.holdout)


def test_max_retain_owners(tofu_dir):
    c = tofu_corpus(str(tofu_dir), "forget10", max_retain_owners=10)
    assert len(c.retain_owners) == 10 and len(c.retain) == 200
    assert len(c.forget) == 400


def test_explicit_forget_owners(tofu_dir):
    c = tofu_corpus(str(tofu_dir), "forget10", forget_owners=["author_000", "author_001"])
    assert c.forget_owners == ["author_000", "author_001"]
    assert len(c.forget) == 40 and len(c.retain) == 3960
    with pytest.raises(DataError, match="author_999"):
        tofu_corpus(str(tofu_dir), "forget10", forget_owners=["author_999"])


def test_aliases_inferred(forget10):
    a = forget10.aliases
    assert "Jaime Vasquez" in a["author_000"]
    assert "Hsiao Yun-Hwa" in a["author_180"]
    assert "Carmen Montenegro" in a["author_181"]
    assert a["author_000"] == sorted(a["author_000"], key=len, reverse=True)
    assert "holdout_000" in a


def test_aliases_without_terms_file(tofu_dir, tmp_path):
    # the inference must work on its own, without forget10_terms.json
    for f in tofu_dir.glob("*.json"):
        if not f.name.endswith("_terms.json"):
            (tmp_path / f.name).symlink_to(f)
    c = tofu_corpus(str(tmp_path), "forget10")
    assert "Jaime Vasquez" in c.aliases["author_000"]
    assert "Hsiao Yun-Hwa" in c.aliases["author_180"]
    assert sum(any(" " in s for s in c.aliases[o]) for o in c.forget_owners) >= 19


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
