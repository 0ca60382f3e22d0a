"""The classifier attributor's `ngram` expert: TF-IDF of word n-grams and a logistic regression.

A small transformer trained from scratch on a few hundred texts learns to tell owners apart by
the strings it saw, and recognises a paraphrase of them poorly (60% on 12 TOFU authors). What a
paraphrase keeps is the content words (places, names of works, professions, genres), and a bag of
word uni- and bigrams sees exactly those. Fitted in seconds, deterministic, a few MB at most.

scikit-learn does the work: `TfidfVectorizer` (Porter-stemmed n-grams from `ngrams`, sublinear
TF, smoothed IDF, L2-normalised rows; at most `max_features` n-grams, the most frequent) and
`LogisticRegression` (multinomial, L-BFGS). The penalty is the attributor's `ngram_l2` times the
summed squared weights added to the mean cross-entropy, which is sklearn's C = 1 / (2 · l2 · N);
with two owners sklearn fits one weight vector w, stored as the rows -w/2 and w/2 (the same
softmax, and the same optimum with C = 1 / (l2 · N)).

Saved as `vocab.json` (n and the n-grams in column order) and `weights.safetensors` (`idf`,
`linear.weight` (K, D), `linear.bias` (K,)): the layout of the earlier torch version, so experts it
saved load and score as before.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from attributors.expert import Expert

WORD = re.compile(r"\w+", re.UNICODE)
UNSEEN = -1e4
"""Logit of an owner without a training text: never predicted (finite, so weights of 0 stay 0)."""


def ngrams(text: str, n: int = 2) -> list[str]:
    """Porter-stemmed, lower-cased word uni- .. n-grams of `text` (a paraphrase that says
    "Chilean" for "Chile" or "born" for "birth" still shares them)."""
    stem = _stemmer()
    words = [stem.stem(w) for w in WORD.findall(text.lower())]
    out = list(words)
    for k in range(2, n + 1):
        out += [" ".join(words[i:i + k]) for i in range(len(words) - k + 1)]
    return out


@functools.cache
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


class NgramModel(Expert):
    """logits(text) = W · tfidf(text) + b over the owners: an L2-regularised multinomial logistic
    regression (a convex problem: deterministic)."""

    folder = "ngram"

    def __init__(self, n_owners: int, n: int = 2, l2: float = 1e-3, max_features: int = 50_000,
                 max_iter: int = 1000) -> None:
        self.n_owners, self.n, self.l2 = n_owners, n, l2
        self.max_features, self.max_iter = max_features, max_iter
        self.vectorizer = None
        self.weight = np.zeros((n_owners, 0), dtype=np.float32)                 # (K, D)
        self.bias = np.zeros(n_owners, dtype=np.float32)                       # (K,)

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "NgramModel":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        tfidf = TfidfVectorizer(analyzer=functools.partial(ngrams, n=self.n), sublinear_tf=True,
                                max_features=self.max_features)
        x, y = tfidf.fit_transform(list(texts)), np.asarray(list(labels))      # (N, D) sparse
        seen = np.unique(y)
        weight = np.zeros((self.n_owners, x.shape[1]))
        bias = np.full(self.n_owners, UNSEEN)
        bias[seen] = 0.0
        if len(seen) > 1:
            c = 1.0 / (self.l2 * len(y) * (2 if len(seen) > 2 else 1))
            model = LogisticRegression(C=c, max_iter=self.max_iter, tol=1e-6).fit(x, y)
            coef, intercept = model.coef_, model.intercept_
            if len(seen) == 2:  # one vector for the second class against the first
                coef, intercept = np.concatenate([-coef, coef]) / 2, np.array([-1, 1]) * intercept / 2
            weight[seen], bias[seen] = coef, intercept
        self._set(tfidf.get_feature_names_out().tolist(), tfidf.idf_, weight, bias)
        return self

    def _set(self, vocab: list[str], idf: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> None:
        """Score with exactly what `save` writes (float32), whether fitted or loaded."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer=functools.partial(ngrams, n=self.n),
                                          sublinear_tf=True,
                                          vocabulary={g: i for i, g in enumerate(vocab)})
        self.vectorizer.idf_ = np.asarray(idf, dtype=np.float32)
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)

    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        if not texts:
            return torch.zeros(0, self.n_owners)
        x = self.vectorizer.transform(list(texts))                             # (N, D) sparse
        return torch.from_numpy(np.asarray(x @ self.weight.T) + self.bias).float()  # (N, K)

    @property
    def vocab(self) -> list[str]:
        return self.vectorizer.get_feature_names_out().tolist()

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps({"n": self.n, "vocab": self.vocab}))
        save_file({"idf": np.ascontiguousarray(self.vectorizer.idf_, dtype=np.float32),
                   "linear.weight": np.ascontiguousarray(self.weight),
                   "linear.bias": np.ascontiguousarray(self.bias)},
                  str(folder / "weights.safetensors"))

    def load(self, folder: Path) -> "NgramModel":
        from safetensors.numpy import load_file

        meta = json.loads((folder / "vocab.json").read_text())
        state = load_file(str(folder / "weights.safetensors"))
        self.n = meta["n"]
        self._set(meta["vocab"], state["idf"], state["linear.weight"], state["linear.bias"])
        return self
