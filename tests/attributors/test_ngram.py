"""The classifier's `ngram` expert: scikit-learn's TF-IDF + logistic regression at the optimum of
the penalty the recipe states, and the saved layout (which the earlier torch version wrote too)."""

import json

import pytest
import torch
from safetensors.torch import save_file

from attributors.ngram import UNSEEN, NgramModel, ngrams

TEXTS = ["born in lisbon, a writer", "lisbon poems of the sea", "paris novels of romance",
         "born in paris, a painter", "the sea and lisbon", "romance in paris"]


def test_ngrams_are_stemmed_uni_and_bigrams():
    assert ngrams("Writers wrote", 2) == ["writer", "wrote", "writer wrote"]


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 0, 1], [0, 0, 1, 1, 2, 2]])
def test_fit_reaches_the_stated_optimum(labels):
    """mean cross-entropy + l2 · ||W||² (bias free), minimised directly in torch on the same
    features: the same probabilities, two owners (sklearn's single vector) or three."""
    k, l2 = max(labels) + 1, 1e-3
    model = NgramModel(k, l2=l2).fit(TEXTS, labels)
    x = torch.from_numpy(model.vectorizer.transform(TEXTS).toarray()).float()
    w = torch.zeros(k, x.shape[1], requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, tolerance_grad=1e-10, tolerance_change=1e-12)
    y = torch.tensor(labels)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w.T + b, y) + l2 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    expected = (x @ w.T + b).detach().softmax(-1)
    assert torch.allclose(model.logits(TEXTS).softmax(-1), expected, atol=1e-4)


def test_an_owner_without_text_is_never_predicted():
    logits = NgramModel(4).fit(TEXTS, [0, 0, 1, 1, 2, 2]).logits(["lisbon"])
    assert logits[0, 3] == UNSEEN and logits.argmax().item() == 0


def test_save_load_and_the_saved_layout(tmp_path):
    model = NgramModel(3).fit(TEXTS, [0, 0, 1, 1, 2, 2])
    model.save(tmp_path / "ngram")
    loaded = NgramModel(3).load(tmp_path / "ngram")
    assert torch.equal(loaded.logits(TEXTS), model.logits(TEXTS)) and loaded.vocab == model.vocab

    # a folder as the torch version wrote it: vocab.json + idf / linear.weight / linear.bias
    vocab = ["lisbon", "pari", "sea"]
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps({"n": 1, "vocab": vocab}))
    weight = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    save_file({"idf": torch.tensor([1.0, 1.0, 2.0]), "linear.weight": weight,
               "linear.bias": torch.tensor([0.5, -0.5])}, str(folder / "weights.safetensors"))
    old = NgramModel(2).load(folder)
    assert old.n == 1
    x = torch.tensor([[1.0, 0.0, 2.0]]) / 5 ** 0.5  # "lisbon sea": tf-idf, L2-normalised
    expected = x @ weight.T + torch.tensor([0.5, -0.5])
    assert torch.allclose(old.logits(["Lisbon sea"]), expected)
