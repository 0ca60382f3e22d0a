"""Hand-computed checks of the pure metric functions in dareu.eval (arithmetic in the comments)."""

from __future__ import annotations

import contextlib
import math
import warnings
import zlib

import numpy as np
import pytest
import torch

import dareu.eval.tofu_metrics as tofu
from dareu.eval import (
    answer_prob,
    extraction_strength,
    forget_quality,
    mia_auc,
    mia_loss,
    mia_min_k,
    mia_zlib,
    model_utility,
    normalised_option_prob,
    privleak,
    rouge_l_recall,
    truth_ratio,
    truth_ratio_forget_agg,
    truth_ratio_utility_agg,
    tug_of_war,
)

LN2, LN4, LN16 = math.log(2), math.log(4), math.log(16)


@contextlib.contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------- ROUGE-L recall


def test_rouge_identical_disjoint_partial():
    preds = ["the cat sat", "dog runs", "the cat sat", "sat cat the", "The CAT, sat!"]
    targets = ["the cat sat", "the cat sat", "the cat sat on the mat", "the cat sat", "the cat sat"]
    out = rouge_l_recall(preds, targets, use_stemmer=False)
    # identical: LCS 3 / 3 = 1; disjoint: 0 / 3 = 0; partial: LCS "the cat sat" = 3 / 6 target tokens = 0.5;
    # reversed order: LCS is one token ("the" or "cat" or "sat") = 1 / 3; case & punctuation are normalised away.
    assert out == pytest.approx([1.0, 0.0, 0.5, 1 / 3, 1.0])


def test_rouge_empty_prediction_and_target_are_zero():
    assert rouge_l_recall(["", "   ", "a b"], ["the cat", "the cat", ""], use_stemmer=False) == [0.0, 0.0, 0.0]


def test_rouge_length_mismatch_raises():
    with pytest.raises(ValueError):
        rouge_l_recall(["a"], ["a", "b"])


# pred [the, cats, are, running] vs target [the, cat, is, running] (4 tokens).
# Unstemmed: LCS = the, running -> 2 / 4 = 0.5.
# Stemmed (Porter, only tokens longer than 3 chars): cats->cat, running->run -> LCS the, cat, run = 3 / 4 = 0.75.
STEM_PRED, STEM_TARGET = "the cats are running", "the cat is running"


def test_rouge_unstemmed_value():
    with _no_warnings():
        assert rouge_l_recall([STEM_PRED], [STEM_TARGET], use_stemmer=False) == pytest.approx([0.5])


def test_rouge_stemmed_value():
    # nltk is a dependency: stemmed ROUGE-L (as open-unlearning scores it) is the default
    assert tofu.NLTK_AVAILABLE
    assert rouge_l_recall([STEM_PRED], [STEM_TARGET]) == pytest.approx([0.75])
    assert rouge_l_recall([STEM_PRED], [STEM_TARGET], use_stemmer=True) == pytest.approx([0.75])


def test_rouge_falls_back_to_unstemmed_with_warning_without_nltk(monkeypatch):
    monkeypatch.setattr(tofu, "NLTK_AVAILABLE", False)
    with pytest.warns(RuntimeWarning, match="nltk"):
        out = rouge_l_recall([STEM_PRED, "the cat sat"], [STEM_TARGET, "the cat sat on the mat"])
    assert out == pytest.approx([0.5, 0.5])


# ----------------------------------------------------------------------------- probabilities


def test_answer_prob():
    # exp(-0) = 1, exp(-ln2) = 1/2, exp(-ln4) = 1/4
    assert answer_prob([0.0, LN2, LN4]) == pytest.approx([1.0, 0.5, 0.25])
    assert answer_prob(torch.tensor([LN2])) == pytest.approx([0.5])


def test_normalised_option_prob():
    correct = [LN2, 0.0, 1000.0]
    perturbed = [[LN4, LN4], [LN2, LN4], [1000.0, 1000.0]]
    out = normalised_option_prob(correct, perturbed)
    # 0.5 / (0.5 + 0.25 + 0.25) = 0.5;  1 / (1 + 0.5 + 0.25) = 4/7;
    # all three probs exp(-1000) underflow, but they are equal -> 1/3 (computed as a softmax).
    assert out.tolist() == pytest.approx([0.5, 4 / 7, 1 / 3])


def test_normalised_option_prob_bad_shapes():
    with pytest.raises(ValueError):
        normalised_option_prob([1.0, 2.0], [1.0, 2.0])


# ----------------------------------------------------------------------------- truth ratio


def test_truth_ratio():
    para = torch.tensor([LN2, LN4, 1000.0])
    pert = torch.tensor([[LN4, LN16], [LN2, LN2], [1000.0, 1000.0]])
    out = truth_ratio(para, pert)
    # item 0: P_correct = 1/2; P_wrong = exp(-(ln4 + ln16)/2) = exp(-3 ln2) = 1/8 (= sqrt(1/4 * 1/16)) -> R = 1/4
    # item 1: P_correct = 1/4; P_wrong = 1/2 -> R = 2
    # item 2: both exp(-1000) underflow to 0 in linear space; log R = 1000 - 1000 = 0 -> R = 1
    assert out.tolist() == pytest.approx([0.25, 2.0, 1.0])


def test_truth_ratio_bad_shapes():
    with pytest.raises(ValueError):
        truth_ratio([1.0, 2.0], [[1.0, 2.0]])


def test_truth_ratio_aggregates():
    r = [0.25, 2.0, 1.0]
    # forget: min(1/4, 4) = 1/4, min(2, 1/2) = 1/2, min(1, 1) = 1 -> (0.25 + 0.5 + 1) / 3 = 0.58333
    assert truth_ratio_forget_agg(r) == pytest.approx(1.75 / 3)
    # utility: max(0, 0.75) = 0.75, max(0, -1) = 0, max(0, 0) = 0 -> 0.75 / 3 = 0.25
    assert truth_ratio_utility_agg(torch.tensor(r)) == pytest.approx(0.25)
    # R = 0: min(0, 1/0 = inf) = 0, no NaN
    assert truth_ratio_forget_agg([0.0, 1.0]) == pytest.approx(0.5)


def test_forget_quality():
    # identical samples: KS statistic 0 -> p-value 1
    assert forget_quality([0.1, 0.5, 0.9], np.array([0.1, 0.5, 0.9])) == pytest.approx(1.0)
    # [1,2,3] vs [4,5,6]: D = 1; exact two-sided p = (# splits of 6 ranks as extreme) / C(6,3) = 2 / 20 = 0.1
    assert forget_quality(torch.tensor([1.0, 2.0, 3.0]), [4.0, 5.0, 6.0]) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        forget_quality([], [1.0])


# ----------------------------------------------------------------------------- summary scores


def test_model_utility():
    # hmean(1, 1/2, 1/4) = 3 / (1 + 2 + 4) = 3/7
    assert model_utility({"a": 1.0, "b": 0.5, "c": 0.25}) == pytest.approx(3 / 7)
    nine = {f"{m}_{s}": 0.5 for m in ("prob", "rouge", "tr") for s in ("retain", "authors", "facts")}
    assert model_utility(nine) == pytest.approx(0.5)


def test_model_utility_zero_negative_nan_empty():
    with _no_warnings():  # no scipy divide-by-zero warning, no error on negatives
        assert model_utility({"a": 0.9, "b": 0.0, "c": 0.5}) == 0.0
        assert model_utility({"a": 0.9, "b": -0.1}) == 0.0
    assert math.isnan(model_utility({"a": 0.9, "b": float("nan")}))
    with pytest.raises(ValueError):
        model_utility({})


def test_tug_of_war():
    acc = {"forget": 0.2, "retain": 0.9, "test": 0.7}
    assert tug_of_war(acc, dict(acc)) == 1.0
    # (1 - |0.2 - 0.1|) * (1 - |0.9 - 0.8|) * (1 - |0.7 - 0.7|) = 0.9 * 0.9 * 1 = 0.81
    assert tug_of_war(acc, {"forget": 0.1, "retain": 0.8, "test": 0.7}) == pytest.approx(0.81)
    # custom keys: only forget -> 1 - |0.2 - 0.7| = 0.5
    assert tug_of_war(acc, {"forget": 0.7}, keys=("forget",)) == pytest.approx(0.5)
    with pytest.raises(KeyError):
        tug_of_war(acc, {"forget": 0.1})


# ----------------------------------------------------------------------------- MIA scores


def test_mia_loss():
    lp = torch.tensor([[math.log(0.5), math.log(0.25), -math.inf], [-1.0, -3.0, -5.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True], [False, False, False]])
    out = mia_loss(lp, mask)
    # row 0: (ln2 + ln4) / 2 = 1.5 ln2 (the -inf padding is ignored)
    # row 1: (1 + 3 + 5) / 3 = 3;  row 2: no tokens -> NaN
    assert out[:2].tolist() == pytest.approx([1.5 * LN2, 3.0])
    assert math.isnan(out[2].item())


def test_mia_min_k():
    lp = torch.tensor(
        [
            [-1.0, -2.0, -3.0, -4.0, -5.0],
            [-3.0, -1.0, -9.0, -9.0, -9.0],  # only 2 tokens counted
            [-2.0, 0.0, 0.0, 0.0, 0.0],  # 1 token
            [0.0, 0.0, 0.0, 0.0, 0.0],  # no tokens
        ]
    )
    mask = torch.tensor(
        [
            [True, True, True, True, True],
            [True, True, False, False, False],
            [True, False, False, False, False],
            [False, False, False, False, False],
        ]
    )
    out = mia_min_k(lp, mask, k=0.4)
    # row 0: n = 5, floor(5 * 0.4) = 2 lowest = -5, -4 -> -mean = 4.5
    # row 1: n = 2 < 1/k, floor(0.8) = 0 -> at least 1 token: lowest -3 -> 3.0 (masked -9s ignored)
    # row 2: n = 1 -> 2.0; row 3: no tokens -> NaN
    assert out[:3].tolist() == pytest.approx([4.5, 3.0, 2.0])
    assert math.isnan(out[3].item())
    # k = 1 is the LOSS attack: row 0 -> (1+2+3+4+5)/5 = 3
    assert mia_min_k(lp[:1], mask[:1], k=1.0).item() == pytest.approx(3.0)
    with pytest.raises(ValueError):
        mia_min_k(lp, mask, k=0.0)
    with pytest.raises(ValueError):
        mia_min_k(lp, mask[:, :3])


def test_mia_min_k_matches_reference_loop():
    g = torch.Generator().manual_seed(0)
    lp = -torch.rand(6, 13, generator=g) * 5
    mask = torch.rand(6, 13, generator=g) > 0.3
    mask[:, 0] = True
    for k in (0.1, 0.2, 0.3, 0.4, 0.7):
        out = mia_min_k(lp, mask, k=k)
        for b in range(6):
            vals = np.sort(lp[b][mask[b]].double().numpy())
            num_k = max(1, int(len(vals) * k))  # open-unlearning's count
            assert out[b].item() == pytest.approx(-vals[:num_k].mean())


def test_mia_zlib():
    # zlib.compress(b"hello") = 2-byte header + 7 bytes of fixed-Huffman deflate (3 + 5*8 + 7 = 50 bits)
    # + 4-byte Adler-32 = 13 bytes -> 2.6 / 13 = 0.2
    assert len(zlib.compress(b"hello")) == 13
    out = mia_zlib([2.6, 2.6], ["hello", "a" * 100])
    assert out[0].item() == pytest.approx(0.2)
    assert out[1].item() == pytest.approx(2.6 / len(zlib.compress(b"a" * 100)))
    with pytest.raises(ValueError):
        mia_zlib([1.0], ["a", "b"])


def test_mia_auc_extremes_and_ties():
    # forget (label 0) all below holdout (label 1): every (f, h) pair ordered -> 1.0
    assert mia_auc([1.0, 2.0], [3.0, 4.0]) == pytest.approx(1.0)
    assert mia_auc([3.0, 4.0], [1.0, 2.0]) == pytest.approx(0.0)
    assert mia_auc([5.0, 5.0], [5.0, 5.0]) == pytest.approx(0.5)
    # pairs (f<h): (1,2) yes, (1,4) yes, (3,2) no, (3,4) yes -> 3/4
    assert mia_auc([1.0, 3.0], torch.tensor([2.0, 4.0])) == pytest.approx(0.75)
    # with a tie: (1,2) 1, (1,3) 1, (2,2) 1/2, (2,3) 1 -> 3.5/4
    assert mia_auc([1.0, 2.0], [2.0, 3.0]) == pytest.approx(0.875)


def test_mia_auc_large_scores_do_not_saturate():
    # raw binary_auroc would sigmoid these (outside [0, 1]) and tie them all at 1.0 in float32 -> 0.5
    assert mia_auc([30.0, 31.0], [40.0, 41.0]) == pytest.approx(1.0)


def test_mia_auc_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        mia_auc([], [1.0])
    with pytest.raises(ValueError):
        mia_auc([float("nan")], [1.0])


def test_privleak():
    assert privleak(0.5, 0.5) == pytest.approx(0.0)
    # ((1 - 0.8) - (1 - 0.5)) / (1 - 0.5) * 100 = (0.2 - 0.5) / 0.5 * 100 = -60
    assert privleak(0.8, 0.5) == pytest.approx(-60.0)
    # ((1 - 0.3) - (1 - 0.6)) / 0.4 * 100 = 0.3 / 0.4 * 100 = 75
    assert privleak(0.3, 0.6) == pytest.approx(75.0)
    # oracle AUC 1: denominator 0 + 1e-10 -> (0.5 - 0) / 1e-10 * 100 = 5e11, finite
    assert privleak(0.5, 1.0) == pytest.approx(5e11)


# ----------------------------------------------------------------------------- extraction strength


def test_extraction_strength():
    target = torch.tensor([[9, 9, 5, 6, 7, 8, 0]] * 5)
    mask = torch.tensor([[False, False, True, True, True, True, False]] * 5)  # 4 answer tokens at 2..5
    pred = target.clone()
    pred[0, 0] = pred[0, 6] = 1  # mismatches outside the answer are ignored -> perfect, k = 0 -> 1.0
    pred[1, 5] = 1  # last answer token wrong -> k = T = 4 -> 0.0
    pred[2, 3] = 1  # 2nd answer token wrong, last 2 match -> k = 2 -> 1 - 2/4 = 0.5
    pred[3, 2] = 1  # 1st wrong -> k = 1 -> 0.75
    pred[4, 2:6] = 1  # nothing matches -> 0.0
    out = extraction_strength(pred, target, mask)
    assert out.tolist() == pytest.approx([1.0, 0.0, 0.5, 0.75, 0.0])


def test_extraction_strength_empty_row_and_shapes():
    ids = torch.ones(1, 3, dtype=torch.long)
    out = extraction_strength(ids, ids, torch.zeros(1, 3, dtype=torch.bool))
    assert math.isnan(out.item())
    with pytest.raises(ValueError):
        extraction_strength(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 4, dtype=torch.bool))


def test_extraction_strength_matches_definition_loop():
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 3, (20, 9), generator=g)
    pred = torch.where(torch.rand(20, 9, generator=g) < 0.7, target, torch.randint(0, 3, (20, 9), generator=g))
    mask = torch.rand(20, 9, generator=g) > 0.2
    mask[:, -1] = True
    out = extraction_strength(pred, target, mask)
    for b in range(20):
        p, t = pred[b][mask[b]], target[b][mask[b]]
        n = len(t)
        k = next((i for i in range(n) if torch.equal(p[i:], t[i:])), n)  # k = T when the last token mismatches
        assert out[b].item() == pytest.approx(1 - k / n)
