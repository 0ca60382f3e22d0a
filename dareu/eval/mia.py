"""Membership-inference scores (LOSS, Min-k%, zlib), their AUC, and MUSE's PrivLeak.

Convention (open-unlearning's): a higher score means "more likely a NON-member"; forget items
are labelled 0 and holdout items 1, so a model that still memorises the forget set gets an AUC
near 1 and an oracle (never trained on it) near 0.5.

token_logps (B, T) are the log-probabilities of the target tokens and mask (B, T) marks the
tokens that count. A row with no counted token has no score: it comes back as NaN, and
`mia_auc` refuses NaN, so such rows must be dropped by the caller, not silently scored.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import torch
from scipy.stats import rankdata
from torch import Tensor
from torchmetrics.functional.classification import binary_auroc

from dareu.eval._util import ArrayLike, as_f64, as_np, check_tokens

PRIVLEAK_EPS = 1e-10


def mia_loss(token_logps: Tensor, mask: Tensor) -> Tensor:
    """LOSS attack: average NLL over the masked tokens, (B, T) -> (B,)."""
    lp, m = check_tokens(token_logps, mask)
    # masked_fill, not lp * m: padding positions may hold -inf, and -inf * 0 is NaN
    return -lp.masked_fill(~m, 0.0).sum(dim=1) / m.sum(dim=1)  # 0/0 -> NaN for empty rows


def mia_min_k(token_logps: Tensor, mask: Tensor, k: float = 0.4) -> Tensor:
    """Min-k% attack: minus the mean of the lowest max(1, floor(k * n)) token log-probs, (B, T) -> (B,).

    The count uses float64 floor so it equals Python's int(n * k) as in open-unlearning.
    """
    if not 0.0 < k <= 1.0:
        raise ValueError(f"k must be in (0, 1]; got {k}")
    lp, m = check_tokens(token_logps, mask)
    n = m.sum(dim=1)  # (B,)
    num_k = torch.floor(n.to(torch.float64) * k).clamp(min=1.0)  # (B,)
    lowest_first = lp.masked_fill(~m, float("inf")).sort(dim=1).values  # (B, T), padding last
    pos = torch.arange(lp.shape[1], device=lp.device)
    take = pos[None, :] < num_k[:, None]  # (B, T)
    score = -lowest_first.masked_fill(~take, 0.0).sum(dim=1) / num_k
    return score.masked_fill(n == 0, float("nan"))


def zlib_entropy(text: str) -> int:
    """Length in bytes of the zlib-compressed UTF-8 text (the zlib attack's reference)."""
    return len(zlib.compress(text.encode("utf-8")))


def mia_zlib(avg_nll: ArrayLike, texts: Sequence[str]) -> Tensor:
    """zlib attack: avg NLL / zlib_entropy(text) per item, (B,) -> (B,)."""
    nll = as_f64(avg_nll).reshape(-1)
    if nll.shape[0] != len(texts):
        raise ValueError(f"got {nll.shape[0]} NLLs but {len(texts)} texts")
    ent = torch.tensor([zlib_entropy(t) for t in texts], dtype=torch.float64, device=nll.device)
    return nll / ent


def mia_auc(forget_scores: ArrayLike, holdout_scores: ArrayLike) -> float:
    """AUROC of the scores with forget labelled 0 and holdout labelled 1.

    The scores are replaced by their ranks / n (ties share a rank) before torchmetrics'
    binary_auroc: it would otherwise treat scores outside [0, 1] as logits and apply a sigmoid,
    which saturates in float32 (e.g. losses 30 and 40 tie at 1.0) and changes the AUC.
    """
    f, h = as_np(forget_scores), as_np(holdout_scores)
    if f.size == 0 or h.size == 0:
        raise ValueError("mia_auc needs at least one forget and one holdout score")
    scores = torch.cat([torch.from_numpy(f), torch.from_numpy(h)])
    if not torch.isfinite(scores).all():
        raise ValueError("mia_auc got non-finite scores (drop rows with no tokens before the AUC)")
    ranks = torch.from_numpy(rankdata(scores.numpy(), method="average")) / scores.numel()  # (0, 1]
    labels = torch.cat([torch.zeros(f.size, dtype=torch.long), torch.ones(h.size, dtype=torch.long)])
    return float(binary_auroc(ranks, labels))


def privleak(auc: float, oracle_auc: float, eps: float = PRIVLEAK_EPS) -> float:
    """PrivLeak (MUSE) in percent: ((1 - auc) - (1 - oracle_auc)) / (1 - oracle_auc) * 100.

    eps (1e-10, open-unlearning's) is added to the denominator so an oracle AUC of exactly 1
    gives a huge finite number instead of a ZeroDivisionError; for any real oracle
    (AUC around 0.5) its effect is below 1e-8 %.
    """
    ref = 1.0 - float(oracle_auc)
    return ((1.0 - float(auc)) - ref) / (ref + eps) * 100.0
