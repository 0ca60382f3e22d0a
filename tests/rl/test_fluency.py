"""The degenerate-text guard: per-token NLL under the reference, its threshold and the penalty."""

import math

import pytest
import torch

from dareu.rl import fluency_penalty, fluency_threshold, response_nll


def test_response_nll_is_the_mean_over_valid_tokens():
    torch.manual_seed(0)
    logp = -torch.rand(3, 5) * 4
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    nll = response_nll(logp, mask)
    for i in range(2):
        expected = -sum(logp[i, t] for t in range(5) if mask[i, t]) / int(mask[i].sum())
        assert nll[i] == pytest.approx(float(expected), rel=1e-6)
    assert math.isinf(nll[2])  # no token at all


def test_penalty_is_zero_below_the_threshold_linear_then_one():
    nll = torch.tensor([1.0, 4.0, 5.0, 6.0, 9.0, 2.0])
    lengths = torch.tensor([10, 10, 10, 10, 10, 1])
    p = fluency_penalty(nll, lengths, threshold=4.0, width=2.0, min_tokens=2)
    assert p.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0, 1.0])  # the last: too short


def test_threshold_is_the_median_of_the_references_own_answers_plus_margin():
    own = torch.tensor([0.5, 1.0, 3.0, float("inf")])
    assert fluency_threshold(own, 2.0) == pytest.approx(1.0 + 2.0)  # inf (empty) left out
    with pytest.raises(ValueError, match="width"):
        fluency_penalty(own, torch.ones(4), 1.0, 0.0)


def test_foreign_answers_are_seeded_cycle_and_cover_the_retain_answers():
    from dareu.rl import foreign_answers

    retain = [f"answer {i}" for i in range(5)]
    a = foreign_answers(retain, 12, seed=3)
    assert a == foreign_answers(retain, 12, seed=3) and len(a) == 12
    assert sorted(a[:5]) == retain and a[5:10] == a[:5]  # one pass in a seeded order, then again
    assert foreign_answers(retain, 12, seed=4) != a
    assert len(foreign_answers(retain, 1000, seed=3)) == 256  # FOREIGN_LIMIT prompts at most


def test_the_foreign_anchor_needs_retain_answers_to_borrow():
    from dareu.rl import uses_foreign_anchor

    assert uses_foreign_anchor("foreign", ["a retain answer"])
    assert not uses_foreign_anchor("foreign", [])  # nothing to borrow: the own anchor
    assert not uses_foreign_anchor("own", ["a retain answer"])
