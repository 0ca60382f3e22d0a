from collections import defaultdict

import pytest

from dareu.config import DataConfig
from dareu.data import build_corpus
from dareu.data.aliases import infer_aliases
from dareu.data.corpus import GENERAL_OWNER
from dareu.data.synthetic import MAX_QA_PER_OWNER, synthetic_corpus
from dareu.errors import DataError


def test_deterministic():
    a, b = synthetic_corpus(seed=7), synthetic_corpus(seed=7)
    assert a.records == b.records and a.holdout == b.holdout and a.test == b.test
    assert a.aliases == b.aliases
    c = synthetic_corpus(seed=8)
    assert [r.response for r in c.records] != [r.response for r in a.records]
    assert c.owners != a.owners


def test_counts():
    c = synthetic_corpus(num_owners=10, qa_per_owner=5, num_holdout_owners=3,
                         num_test_questions=12, num_perturbed=4, num_forget_owners=2, seed=1)
    assert len(c.owners) == 10 and len(c.forget_owners) == 2 and len(c.retain_owners) == 8
    assert len(c.records) == 50 and len(c.forget) == 10 and len(c.retain) == 40
    assert len(c.holdout) == 15 and len({r.owner for r in c.holdout}) == 3
    assert list(c.test_sets) == ["general"] and len(c.test) == 12
    assert all(r.owner == GENERAL_OWNER for r in c.test)
    for r in [*c.records, *c.holdout, *c.test]:
        assert len(r.perturbed_responses) == 4
        assert r.paraphrased_response and r.paraphrased_prompt
        assert r.response not in r.perturbed_responses
    assert c.forget_owners == c.owners[-2:]


def test_max_retain_owners():
    c = synthetic_corpus(num_owners=10, num_forget_owners=2, max_retain_owners=3, seed=0)
    assert len(c.retain_owners) == 3 and {r.owner for r in c.records} == set(c.owners)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_facts_unique_per_kind(seed):
    c = synthetic_corpus(qa_per_owner=MAX_QA_PER_OWNER, seed=seed)
    by_kind = defaultdict(dict)
    for r in [*c.records, *c.holdout]:
        kind = r.id.rsplit("-", 1)[1]
        assert r.response not in by_kind[kind].values(), (kind, r.response)
        by_kind[kind][r.owner] = r.response
    assert len(by_kind) == MAX_QA_PER_OWNER


def test_holdout_disjoint():
    c = synthetic_corpus(seed=4)
    assert not {r.owner for r in c.holdout} & {r.owner for r in c.records}
    assert not {r.id for r in c.holdout} & {r.id for r in c.records}


def test_aliases_contain_full_names():
    c = synthetic_corpus(seed=5)
    for o in [*c.owners, *{r.owner for r in c.holdout}]:
        assert o in c.aliases[o]
        assert o.split()[-1] in c.aliases[o]
        assert any(o in r.prompt for r in c.of([o]) + [h for h in c.holdout if h.owner == o])


def test_inferred_aliases_find_synthetic_names():
    c = synthetic_corpus(seed=6)
    grouped = defaultdict(list)
    for r in [*c.records, *c.holdout]:
        grouped[r.owner].append(r)
    inferred = infer_aliases(grouped)
    for o in grouped:
        assert o in inferred[o]


def test_forget_owner_unknown():
    with pytest.raises(DataError, match="Nobody Atall"):
        synthetic_corpus(forget_owners=["Nobody Atall"])


def test_explicit_forget_owner():
    owners = synthetic_corpus(seed=2).owners
    c = synthetic_corpus(forget_owners=[owners[0]], seed=2)
    assert c.forget_owners == [owners[0]] and owners[0] not in c.retain_owners


def test_num_forget_owners_too_many():
    with pytest.raises(DataError, match="leaves no retain owner"):
        synthetic_corpus(num_owners=4, num_forget_owners=4)
    with pytest.raises(DataError, match="leaves no retain owner"):
        synthetic_corpus(num_owners=4, num_forget_owners=5)


def test_too_many_kinds_or_tests():
    with pytest.raises(DataError, match="qa_per_owner"):
        synthetic_corpus(qa_per_owner=MAX_QA_PER_OWNER + 1)
    with pytest.raises(DataError, match="num_test_questions"):
        synthetic_corpus(num_test_questions=1000)


def test_build_corpus_seed():
    a = build_corpus(DataConfig(), seed=11)
    assert a.records == synthetic_corpus(seed=11).records
    b = build_corpus(DataConfig(seed=3), seed=11)
    assert b.records == synthetic_corpus(seed=3).records
