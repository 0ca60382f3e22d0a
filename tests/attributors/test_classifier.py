import pytest
import torch

from attributors import build_attributor, load_attributor
from attributors.base import AttributorContext, AttributorError
from attributors.classifier import ClassifierAttributor
from attributors.evaluation import heldout_metrics, split_owner_texts
from attributors.masking import AliasMasker, mask_corpus
from dareu.config import DataConfig, ModelConfig
from dareu.data import build_corpus
from dareu.data.corpus import OwnerCorpus, Record
from dareu.data.synthetic import synthetic_corpus
from dareu.models import build_tiny_model, train_tokenizer
from dareu.stages.fit_attributor import sample_target_answers

TINY = {"n_layer": 1, "n_embd": 32, "n_head": 2, "epochs": 2, "max_length": 64}


@pytest.fixture
def one_thread():
    # a from-scratch model this small runs fastest on one thread, and leaves the other core to
    # the tests that run beside it
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def quickstart():
    raw = synthetic_corpus()  # the quickstart corpus: 16 owners x 8 QA
    return raw, mask_corpus(raw, AliasMasker(raw.aliases))


@pytest.fixture(scope="module")
def fitted(quickstart):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return build_attributor("classifier", {}, AttributorContext(seed=0)).fit(quickstart[1])
    finally:
        torch.set_num_threads(n)


# -- held-out split ----------------------------------------------------------------------------
def test_split_holds_out_paraphrases(quickstart):
    corpus = quickstart[1]
    train, heldout = split_owner_texts(corpus, 0.5, use_paraphrases=True, seed=0)
    assert len(heldout) == 64 and {t.kind for t in heldout} == {"paraphrase"}
    assert len(train) == 128 + 64 and not {t.text for t in train} & {t.text for t in heldout}
    assert all(sum(t.label == k for t in heldout) == 4 for k in range(16))
    train_np, heldout_np = split_owner_texts(corpus, 0.5, use_paraphrases=False, seed=0)
    assert len(train_np) == 128 and heldout_np == heldout
    assert split_owner_texts(corpus, 0.0, True, 0)[1] == []


def test_split_without_paraphrases_holds_out_responses():
    recs = [Record(f"{o}{i}", o, f"q{i}", f"{o} answer {i}") for o in "ab" for i in range(3)]
    recs.append(Record("c0", "c", "q", "only one"))
    corpus = OwnerCorpus("t", recs, forget_owners=["c"], retain_owners=["a", "b"])
    train, heldout = split_owner_texts(corpus, 0.5, True, seed=0)
    assert len(heldout) == 4 and {t.kind for t in heldout} == {"response"}   # round(1.5) = 2 each
    assert [t.text for t in train if t.label == 2] == ["only one"]           # never its last text


def test_heldout_metrics():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    m = heldout_metrics(probs, torch.tensor([0, 1, 1, 1]))
    assert m["heldout_accuracy"] == 0.75 and m["heldout_texts"] == 4
    assert 0 < m["heldout_macro_f1"] < 1 and 0 <= m["heldout_ece"] <= 1


# -- fit and score -----------------------------------------------------------------------------
@pytest.mark.slow
def test_quickstart_heldout_accuracy(fitted):
    report = fitted.fit_report()
    assert report["heldout_texts"] == 64
    assert report["heldout_accuracy"] >= 0.9, report
    assert report["heldout_macro_f1"] >= 0.85 and report["heldout_ece"] < 0.2


def test_scores_are_probabilities(fitted, quickstart):
    raw, corpus = quickstart
    p = fitted.score([r.prompt for r in corpus.records[:32]], [r.response for r in corpus.records[:32]])
    assert p.shape == (32, 16) and (p >= 0).all()
    assert torch.allclose(p.sum(-1), torch.ones(32), atol=1e-5)
    empty = fitted.score(["q", "q"], ["", "   "])       # no text, no evidence: uniform
    assert torch.allclose(empty, torch.full((2, 16), 1 / 16))
    assert fitted.score([], []).shape == (0, 16)


def test_save_load_identical_scores(fitted, quickstart, tmp_path):
    fitted.save(tmp_path)
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert not list(tmp_path.rglob("*.bin")) and not list(tmp_path.rglob("*.pt"))
    loaded = load_attributor(tmp_path)
    assert isinstance(loaded, ClassifierAttributor) and loaded.owners == fitted.owners
    assert loaded.fit_report() == fitted.fit_report()
    texts = [r.paraphrased_response for r in quickstart[1].records[:20]]
    assert torch.equal(loaded.score([""] * 20, texts), fitted.score([""] * 20, texts))


def test_temperature_flattens(fitted, tmp_path):
    fitted.save(tmp_path)
    warm = load_attributor(tmp_path)
    warm.config.temperature = 5.0
    text = ["Born in Graz, Austria, on 16 October 1973."]
    assert warm.score([""], text).max() < fitted.score([""], text).max()


def test_score_before_fit():
    with pytest.raises(AttributorError, match="not fitted"):
        ClassifierAttributor().score(["q"], ["a"])


def test_tofu_subset_same_code_path(tofu_dir, one_thread):
    corpus = build_corpus(DataConfig(source="tofu", path=str(tofu_dir), tofu_split="forget01",
                                     max_retain_owners=8), seed=0)
    masked = mask_corpus(corpus, AliasMasker(corpus.aliases))
    att = build_attributor("classifier", TINY, AttributorContext(seed=0)).fit(masked)
    assert att.owners == corpus.owners and len(att.owners) == 10
    report = att.fit_report()
    assert report["heldout_texts"] > 0 and 0 <= report["heldout_accuracy"] <= 1
    p = att.score([r.prompt for r in masked.forget], [r.response for r in masked.forget])
    assert p.shape == (len(masked.forget), 10)
    assert torch.allclose(p.sum(-1), torch.ones(len(p)), atol=1e-5)


def test_target_generations_are_masked_and_labelled(tmp_path, one_thread):
    raw = synthetic_corpus(num_owners=3, qa_per_owner=2, num_holdout_owners=0, num_forget_owners=1)
    tok = train_tokenizer(raw.all_texts(), 512)
    mcfg = ModelConfig(n_layer=1, n_embd=32, n_head=2, vocab_size=512, max_length=64)
    build_tiny_model(mcfg, tok, seed=0).save_pretrained(tmp_path / "target")
    masker = AliasMasker(raw.aliases)
    ctx = AttributorContext(target_path=str(tmp_path / "target"), tokenizer=tok, model_cfg=mcfg,
                            masker=masker, unmasked_corpus=raw)
    att = build_attributor("classifier", {**TINY, "use_target_generations": True,
                                          "generations_per_prompt": 2,
                                          "generation_max_new_tokens": 8}, ctx)
    assert att.uses_target and att.target_sampling.per_prompt == 2
    masked = mask_corpus(raw, masker)
    answers = sample_target_answers(ctx, att.target_sampling, masked.owners)  # what the stage does
    assert 0 < len(answers) <= 6 * 2 and {a.owner for a in answers} <= set(raw.owners)
    assert all(a.prompt.count("[OWNER]") == 1 for a in answers)   # prompts named the owner
    ctx.target_answers = answers
    att.fit(masked)
    assert att.fit_report()["train_generations"] == len(answers)


def test_target_generations_need_a_target():
    att = build_attributor("classifier", {"use_target_generations": True})
    with pytest.raises(AttributorError, match="dareu prepare"):
        att.fit(synthetic_corpus(num_owners=3, qa_per_owner=2, num_holdout_owners=0,
                                 num_forget_owners=1))


@pytest.fixture(scope="module")
def hub_like_backbone(tmp_path_factory):
    """A tiny causal LM saved like a hub model: the classifier gets a fresh head on top of it."""
    raw = synthetic_corpus(num_owners=3, qa_per_owner=2, num_holdout_owners=0, num_forget_owners=1)
    tok = train_tokenizer(raw.all_texts(), 512)
    path = tmp_path_factory.mktemp("backbone")
    mcfg = ModelConfig(n_layer=1, n_embd=32, n_head=2, vocab_size=512, max_length=64)
    build_tiny_model(mcfg, tok, seed=0).save_pretrained(path)
    tok.save_pretrained(path)
    return path, mask_corpus(raw, AliasMasker(raw.aliases))


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_backbone_modes_roundtrip(hub_like_backbone, mode, tmp_path, one_thread):
    path, corpus = hub_like_backbone
    att = build_attributor("classifier", {"backbone": str(path), "mode": mode, "epochs": 2,
                                          "max_length": 64}, AttributorContext(seed=0)).fit(corpus)
    assert att.config.learning_rate == (2e-5 if mode == "full" else 2e-4)
    att.save(tmp_path)
    assert (tmp_path / ("model" if mode == "full" else "adapter")).is_dir()
    loaded = load_attributor(tmp_path)
    texts = [r.response for r in corpus.records]
    a, b = att.score([""] * len(texts), texts), loaded.score([""] * len(texts), texts)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(b.sum(-1), torch.ones(len(texts)), atol=1e-5)


def test_missing_backbone():
    att = build_attributor("classifier", {"backbone": "/no/such/model"})
    with pytest.raises(AttributorError, match="backbone"):
        att.fit(synthetic_corpus(num_owners=3, qa_per_owner=2, num_holdout_owners=0,
                                 num_forget_owners=1))
