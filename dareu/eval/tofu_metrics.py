"""TOFU-style metrics: ROUGE-L recall, answer probability, truth ratio, forget quality, model utility.

All functions are pure (no model, no I/O) and follow open-unlearning's definitions; the places
where the arithmetic is done differently (log space, no 1e-10 epsilons) give the same numbers
up to floating point except in degenerate cases, noted per function.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import torch
from scipy.stats import hmean, ks_2samp
from torch import Tensor
from torchmetrics.functional.text.rouge import rouge_score
from torchmetrics.utilities.imports import _NLTK_AVAILABLE

from dareu.eval._util import ArrayLike, as_f64, as_np

# torchmetrics' ROUGE stemmer is nltk's PorterStemmer; without nltk it raises ModuleNotFoundError.
NLTK_AVAILABLE: bool = bool(_NLTK_AVAILABLE)


# ----------------------------------------------------------------------------- ROUGE


def rouge_l_recall(
    predictions: Sequence[str], targets: Sequence[str], use_stemmer: bool | None = None
) -> list[float]:
    """Per item ROUGE-L recall of prediction vs target: LCS(pred, target) / len(target tokens).

    Tokenisation is torchmetrics' (= Google rouge_score's): lowercase, non-alphanumerics -> spaces,
    split on whitespace; with stemming, tokens longer than 3 characters are Porter-stemmed.

    use_stemmer: None (default) stems when nltk is installed and otherwise falls back to
    unstemmed ROUGE-L with a RuntimeWarning (scores can then only be lower, e.g. "cats" no longer
    matches "cat"); True requires nltk (ModuleNotFoundError without it); False never stems.
    An empty (or punctuation-only) prediction or target scores 0.0.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"got {len(predictions)} predictions but {len(targets)} targets")
    if use_stemmer is None:
        use_stemmer = NLTK_AVAILABLE
        if not use_stemmer:
            warnings.warn(
                "nltk is not installed: ROUGE-L is computed WITHOUT the Porter stemmer, so it is not "
                "comparable to open-unlearning's stemmed ROUGE (install nltk to fix)",
                RuntimeWarning,
                stacklevel=2,
            )
    scores = []
    for pred, target in zip(predictions, targets):
        if not pred.strip() or not target.strip():
            scores.append(0.0)
            continue
        out = rouge_score(pred, target, use_stemmer=use_stemmer, rouge_keys="rougeL")
        scores.append(float(out["rougeL_recall"]))
    return scores


# ----------------------------------------------------------------------------- probabilities


def answer_prob(avg_nll: ArrayLike) -> list[float]:
    """Per item answer probability exp(-mean token NLL over the answer tokens)."""
    return torch.exp(-as_f64(avg_nll).reshape(-1)).tolist()


def normalised_option_prob(correct_nll: ArrayLike, perturbed_nll: ArrayLike) -> Tensor:
    """P(a) / (P(a) + sum_j P(a'_j)) with P = exp(-avg NLL); correct (N,), perturbed (N, K) -> (N,).

    Computed as a softmax over the negated NLLs, so it stays exact when every probability
    underflows (open-unlearning adds 1e-10 to the denominator, which only matters there).
    """
    c, p = as_f64(correct_nll), as_f64(perturbed_nll)
    if c.dim() != 1 or p.dim() != 2 or p.shape[0] != c.shape[0]:
        raise ValueError(f"need correct_nll (N,) and perturbed_nll (N, K); got {tuple(c.shape)}, {tuple(p.shape)}")
    logits = torch.cat([-c[:, None], -p], dim=1)  # (N, 1+K)
    return torch.softmax(logits, dim=1)[:, 0]


# ----------------------------------------------------------------------------- truth ratio


def truth_ratio(paraphrased_avg_nll: ArrayLike, perturbed_avg_nll: ArrayLike) -> Tensor:
    """R = P_wrong / P_correct per item; paraphrased (N,), perturbed (N, K) -> (N,).

    P_correct = exp(-nll_para), P_wrong = exp(-mean_j nll_pert_j) (geometric mean of the perturbed
    probabilities), so log R = nll_para - mean_j nll_pert_j, exponentiated once.
    open-unlearning divides by (P_correct + 1e-10); the two agree unless P_correct < ~1e-8.
    """
    para, pert = as_f64(paraphrased_avg_nll), as_f64(perturbed_avg_nll)
    if para.dim() != 1 or pert.dim() != 2 or pert.shape[0] != para.shape[0]:
        raise ValueError(
            f"need paraphrased_avg_nll (N,) and perturbed_avg_nll (N, K); got {tuple(para.shape)}, {tuple(pert.shape)}"
        )
    return torch.exp(para - pert.mean(dim=1))


def truth_ratio_forget_agg(ratios: ArrayLike) -> float:
    """Forget-set aggregate mean(min(R, 1/R)): 1 when true and false answers are equally likely."""
    r = as_f64(ratios)
    return float(torch.minimum(r, 1.0 / r).mean())


def truth_ratio_utility_agg(ratios: ArrayLike) -> float:
    """Retain-style aggregate mean(max(0, 1 - R)): high when the true answer is much likelier."""
    r = as_f64(ratios)
    return float(torch.clamp(1.0 - r, min=0.0).mean())


def forget_quality(unlearned_tr: ArrayLike, oracle_tr: ArrayLike) -> float:
    """p-value of the two-sample KS test between per-item forget truth ratios (unlearned vs oracle)."""
    a, b = as_np(unlearned_tr), as_np(oracle_tr)
    if a.size == 0 or b.size == 0:
        raise ValueError("forget_quality needs non-empty truth-ratio arrays")
    return float(ks_2samp(a, b).pvalue)


# ----------------------------------------------------------------------------- summary scores


def model_utility(values: Mapping[str, float]) -> float:
    """Harmonic mean of the given metric values (TOFU: {prob, rouge, TR} x {retain, authors, facts}).

    Any value <= 0 gives 0.0 (the harmonic mean's limit), without calling scipy, which warns on
    zeros and rejects negatives; a NaN value gives NaN.
    """
    vals = [float(v) for v in values.values()]
    if not vals:
        raise ValueError("model_utility needs at least one value")
    if any(math.isnan(v) for v in vals):
        return math.nan
    if any(v <= 0.0 for v in vals):
        return 0.0
    return float(hmean(vals))


def tug_of_war(
    unlearned: Mapping[str, float],
    oracle: Mapping[str, float],
    keys: Sequence[str] = ("forget", "retain", "test"),
) -> float:
    """ToW = prod_k (1 - |a_unlearned[k] - a_oracle[k]|) over the given keys (1.0 = matches the oracle)."""
    missing = [k for k in keys if k not in unlearned or k not in oracle]
    if missing:
        raise KeyError(f"tug_of_war: keys missing from unlearned/oracle: {missing}")
    out = 1.0
    for k in keys:
        out *= 1.0 - abs(float(unlearned[k]) - float(oracle[k]))
    return out
