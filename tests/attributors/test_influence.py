"""Influence attribution against closed forms on a tiny model, its sign, aggregation, 4-bit, I/O."""

import dataclasses

import pytest
import torch

from attributors.base import (AttributorContext, AttributorError, build_attributor,
                              load_attributor)
from attributors.gradients import GradientTracker, Layout, batches, encode_examples, select_layers
from attributors.hessian import EKFAC, KFAC
from dareu.data.corpus import OwnerCorpus
from dareu.models import load_causal_lm
from gradient_fixtures import (TEMPLATE, assert_scores_own_records, context, queries,
                               reference_gradients, tiny_target, untrained)

LAYER = "transformer.h.1.attn.c_proj"  # Conv1D 32 -> 32 + bias: 1056 parameters


@pytest.fixture(scope="module")
def target():
    return tiny_target()


def _per_record_owners(corpus) -> OwnerCorpus:
    recs = [dataclasses.replace(r, owner=r.id) for r in corpus.records]
    return OwnerCorpus("per-record", recs, forget_owners=[recs[0].id],
                       retain_owners=[r.id for r in recs[1:]])


def _fit(target, **options):
    path, cfg, corpus = target
    return build_attributor("influence", {"modules": [LAYER], **options},
                            context(path, cfg)).fit(corpus)


def _reference(target):
    path, cfg, corpus = target
    train = reference_gradients(path, LAYER, [r.prompt for r in corpus.records],
                                [r.response for r in corpus.records]).double()  # (N, P)
    query = reference_gradients(path, LAYER, *queries(corpus)).double()  # (Q, P)
    owner_of = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    sums = torch.zeros(len(corpus.owners), train.shape[1], dtype=torch.float64)
    sums.index_add_(0, owner_of, train)  # (n_owners, P)
    return train, query, sums


def _close(a, b):
    torch.testing.assert_close(a.double(), b.double(), rtol=2e-3, atol=2e-3 * float(b.abs().max()))


def test_identity_is_the_gradient_dot_product(target):
    train, query, sums = _reference(target)
    _close(_fit(target, hessian="identity").raw_scores(*queries(target[2])), query @ sums.T)


def test_hooks_work_on_llama_linear_layers():
    path, cfg, corpus = untrained("llama")
    layer = "model.layers.1.mlp.down_proj"  # nn.Linear 42 -> 32, no bias
    q = queries(corpus)
    train = reference_gradients(path, layer, [r.prompt for r in corpus.records],
                                [r.response for r in corpus.records]).double()
    owner_of = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    sums = torch.zeros(len(corpus.owners), train.shape[1], dtype=torch.float64).index_add_(
        0, owner_of, train)
    attr = build_attributor("influence", {"modules": [layer], "hessian": "identity"},
                            context(path, cfg)).fit(corpus)
    _close(attr.raw_scores(*q), reference_gradients(path, layer, *q).double() @ sums.T)


def test_exact_matches_a_dense_damped_fisher_solve(target):
    train, query, sums = _reference(target)
    fisher = train.T @ train / len(train)  # (P, P) empirical Fisher
    h = fisher + 0.1 * fisher.diagonal().mean() * torch.eye(len(fisher), dtype=fisher.dtype)
    expected = query @ torch.linalg.solve(h, sums.T)
    _close(_fit(target, hessian="exact", damping=0.1).raw_scores(*queries(target[2])), expected)


def test_diagonal_matches_a_dense_diagonal_solve(target):
    train, query, sums = _reference(target)
    diag = (train ** 2).mean(0)
    expected = query @ (sums / (diag + 0.1 * diag.mean())).T
    _close(_fit(target, hessian="diagonal", damping=0.1).raw_scores(*queries(target[2])), expected)


def _one_example_kfac(target, cls):
    path, cfg, corpus = target
    model = load_causal_lm(path, cfg, mode="full", trainable=False)
    layers = select_layers(model, [LAYER])
    tracker, layout = GradientTracker(model, layers), Layout(layers)
    ctx = context(path, cfg)
    rows = encode_examples(ctx.tokenizer, TEMPLATE, [corpus.records[0].prompt],
                           [corpus.records[0].response], 64)
    bg = tracker.batch_gradients(batches(rows, 1, ctx.tokenizer.pad_token_id, "cpu")[0])
    pre = cls(layout, damping=0.1)
    pre.observe(bg)
    if pre.second_pass:
        pre.start_second_pass()
        pre.observe_second(bg)
    pre.finalize()
    return pre, bg, layout


def test_kfac_one_example_is_the_kronecker_inverse(target):
    pre, bg, layout = _one_example_kfac(target, KFAC)
    a = bg.inputs[LAYER][0].double()  # (T, d_in')
    g = bg.outgrads[LAYER][0].double()  # (T, d_out)
    A, G = a.T @ a / bg.tokens[LAYER], g.T @ g  # one example: G sums its tokens
    kron = torch.kron(G, A)  # acts on row-major vec of a (d_out, d_in') matrix
    mean_eig = [torch.linalg.eigvalsh(m).clamp(min=0).mean() for m in (G, A)]
    lam = 0.1 * mean_eig[0] * mean_eig[1]
    v = torch.randn(3, layout.size, dtype=torch.float64)
    expected = torch.linalg.solve(kron + lam * torch.eye(len(kron), dtype=kron.dtype), v.T).T
    _close(pre.solve(v.float()), expected)


def test_ekfac_uses_projected_gradient_moments(target):
    pre, bg, layout = _one_example_kfac(target, EKFAC)
    q = torch.kron(pre.QG[LAYER], pre.QA[LAYER])  # eigenbasis for row-major vec
    d = bg.grads[LAYER][0].double().flatten()
    moments = (q.T @ d) ** 2  # one example: its own squared coordinates
    h = q @ torch.diag(moments + 0.1 * moments.mean()) @ q.T
    v = torch.randn(2, layout.size, dtype=torch.float64)
    _close(pre.solve(v.float()), torch.linalg.solve(h, v.T).T)


@pytest.mark.parametrize("hessian", ["diagonal", "ekfac"])
def test_owner_scores_are_sums_of_example_scores(target, hessian):
    path, cfg, corpus = target
    options = {"hessian": hessian, "last_blocks": 2}
    owners = build_attributor("influence", options, context(path, cfg)).fit(corpus)
    per_record = build_attributor("influence", options, context(path, cfg)).fit(
        _per_record_owners(corpus))
    q = queries(corpus)
    by_record = per_record.raw_scores(*q)  # (Q, N): one owner per training record
    by_record = by_record[:, [per_record.owners.index(r.id) for r in corpus.records]]
    owner_of = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    summed = torch.zeros(len(by_record), len(corpus.owners)).index_add_(1, owner_of, by_record)
    _close(owners.raw_scores(*q), summed)


@pytest.mark.parametrize("sees", ["prompt+response", "response"])
@pytest.mark.parametrize("hessian", ["identity", "diagonal", "kfac", "ekfac"])
def test_a_copied_answer_is_attributed_to_its_owner(target, hessian, sees):
    path, cfg, corpus = target
    attr = build_attributor("influence", {"hessian": hessian}, context(path, cfg, sees)).fit(corpus)
    prompts, responses = [r.prompt for r in corpus.records], [r.response for r in corpus.records]
    truth = torch.tensor([attr.owners.index(r.owner) for r in corpus.records])
    raw, scores = attr.raw_scores(prompts, responses), attr.score(prompts, responses)
    assert torch.equal(raw.argmax(1), truth), raw
    assert (scores >= 0).all() and torch.allclose(scores.sum(1), torch.ones(len(scores)))
    assert scores[torch.arange(len(truth)), truth].mean() > 0.6
    assert attr.fit_report()["train_top1_owner"] == 1.0 and attr.uses_target


def test_relu_normalisation_is_nonnegative_and_sums_to_one(target):
    attr = _fit(target, hessian="kfac", normalise="relu")
    s = attr.score(*queries(target[2]))
    assert (s >= 0).all()
    assert torch.all(((s.sum(1) - 1).abs() < 1e-5) | (s.sum(1) == 0))


def test_save_load_gives_identical_scores(target, tmp_path):
    path, cfg, corpus = target
    attr = _fit(target, hessian="ekfac")
    attr.save(tmp_path / "attr")
    q = queries(corpus)
    # as the reward loads it: no target path, tokenizer or template in the context
    for ctx in (context(path, cfg), AttributorContext(model_cfg=cfg)):
        again = load_attributor(tmp_path / "attr", ctx)
        assert again.owners == attr.owners and again.sees == attr.sees
        torch.testing.assert_close(again.score(*q), attr.score(*q), rtol=0, atol=0)


def test_reload_with_other_layers_is_refused(target, tmp_path):
    path, cfg, corpus = target
    _fit(target, hessian="identity").save(tmp_path / "attr")
    meta = tmp_path / "attr" / "attributor.json"
    meta.write_text(meta.read_text().replace(LAYER, "transformer.h.0.attn.c_attn"))
    with pytest.raises(AttributorError, match="fit it again"):
        load_attributor(tmp_path / "attr", context(path, cfg)).score(["q"], ["a"])


def test_qlora_4bit_attributor_model(target):
    pytest.importorskip("bitsandbytes")
    path, cfg, corpus = target
    attr = build_attributor("influence", {"mode": "qlora", "hessian": "ekfac"},
                            context(path, cfg)).fit(corpus)
    import bitsandbytes as bnb

    model = attr.session(str(path)).model
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules()), "base must be 4-bit"
    assert all(".lora_B." in l.name for l in attr.session(str(path)).layout.layers)
    assert_scores_own_records(attr, corpus)


def test_bad_options_are_clear_errors(target):
    path, cfg, _ = target
    with pytest.raises(AttributorError, match="hessian"):
        build_attributor("influence", {"hessian": "lissa"}, context(path, cfg))
    with pytest.raises(AttributorError, match="did you mean damping"):
        build_attributor("influence", {"dampng": 0.1}, context(path, cfg))
    with pytest.raises(AttributorError, match="no linear layer"):
        build_attributor("influence", {"modules": ["nope"]}, context(path, cfg)).fit(target[2])
