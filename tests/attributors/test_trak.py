"""TRAK: projections, the kernel solve against the unprojected closed form, ensembles, 4-bit."""

import dataclasses

import pytest
import torch

from attributors.base import AttributorError, build_attributor, load_attributor
from attributors.gradients import Layout, TrackedLayer
from attributors.projection import KroneckerProjection, RandomProjection
from attributors.trak import kernel_solve
from dareu.data.corpus import OwnerCorpus
from gradient_fixtures import (assert_scores_own_records, context, queries, reference_gradients,
                               tiny_target)

LAYER = "transformer.h.1.attn.c_proj"  # 1056 parameters


@pytest.fixture(scope="module")
def target():
    return tiny_target()


def _close(a, b):
    torch.testing.assert_close(a.double(), b.double(), rtol=2e-3, atol=2e-3 * float(b.abs().max()))


def test_projection_is_seeded_chunked_and_norm_preserving():
    x = torch.randn(4, 1500)
    cached = RandomProjection(1500, 512, "rademacher", seed=3, chunk_mb=0.5, cache_mb=100)
    streamed = RandomProjection(1500, 512, "rademacher", seed=3, chunk_mb=0.5, cache_mb=0)
    assert len(streamed.bounds) > 1 and streamed._cache is None
    torch.testing.assert_close(cached(x), streamed(x))
    assert not torch.allclose(RandomProjection(1500, 512, seed=4)(x), cached(x))
    for kind in ("rademacher", "gaussian", "orthogonal"):
        phi = RandomProjection(1500, 1024, kind, seed=0)(x)
        ratio = phi.norm(dim=1) / x.norm(dim=1)
        assert ((ratio - 1).abs() < 0.1).all(), (kind, ratio)


def test_kronecker_projection_is_the_kronecker_product_of_its_factors():
    layout = Layout([TrackedLayer("a", 6, 5, True), TrackedLayer("b", 4, 7, False)])
    proj = KroneckerProjection(layout, 20, "gaussian", seed=1)
    x = torch.randn(3, layout.size)
    (po_a, pi_a), (po_b, pi_b) = proj.factors
    # (P, k) for row-major vec of each (d_out, d_in') layer gradient
    dense = torch.block_diag(torch.kron(po_a, pi_a), torch.kron(po_b, pi_b))
    assert proj.k == dense.shape[1] <= 20
    torch.testing.assert_close(proj(x), x @ dense)
    big = Layout([TrackedLayer("w", 64, 65, True)])
    y = torch.randn(8, big.size)
    ratio = KroneckerProjection(big, 1024, seed=0)(y).norm(dim=1) / y.norm(dim=1)
    assert ((ratio - 1).abs() < 0.25).all(), ratio


@pytest.mark.parametrize("n,k", [(5, 40), (40, 5)])
def test_kernel_solve_primal_and_dual_agree(n, k):
    phi, e = torch.randn(n, k, dtype=torch.float64), torch.randn(n, 3, dtype=torch.float64)
    lam = 0.1 * float((phi ** 2).sum()) / k
    expected = torch.linalg.solve(phi.T @ phi + lam * torch.eye(k, dtype=phi.dtype), phi.T @ e)
    torch.testing.assert_close(kernel_solve(phi, e, 0.1), expected)


def test_full_rank_orthogonal_projection_equals_the_unprojected_solution(target):
    path, cfg, corpus = target
    train = reference_gradients(path, LAYER, [r.prompt for r in corpus.records],
                                [r.response for r in corpus.records]).double()  # (N, P)
    query = reference_gradients(path, LAYER, *queries(corpus)).double()
    n, p = train.shape
    owner_of = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    onehot = torch.zeros(n, len(corpus.owners), dtype=torch.float64)
    onehot[torch.arange(n), owner_of] = 1
    kernel = train.T @ train
    lam = 0.05 * kernel.trace() / p
    expected = query @ torch.linalg.solve(kernel + lam * torch.eye(p, dtype=kernel.dtype),
                                          train.T @ onehot)
    attr = build_attributor("trak", {"modules": [LAYER], "projection": "orthogonal",
                                     "projection_structure": "dense", "projection_dim": p,
                                     "damping": 0.05},
                            context(path, cfg)).fit(corpus)
    _close(attr.raw_scores(*queries(corpus)), expected)


def test_owner_scores_are_sums_of_example_scores(target):
    path, cfg, corpus = target
    recs = [dataclasses.replace(r, owner=r.id) for r in corpus.records]
    per_record_corpus = OwnerCorpus("per-record", recs, forget_owners=[recs[0].id],
                                    retain_owners=[r.id for r in recs[1:]])
    opts = {"projection_dim": 256}
    owners = build_attributor("trak", opts, context(path, cfg)).fit(corpus)
    per_record = build_attributor("trak", opts, context(path, cfg)).fit(per_record_corpus)
    q = queries(corpus)
    columns = [per_record.owners.index(r.id) for r in corpus.records]
    by_record = per_record.raw_scores(*q)[:, columns]
    owner_of = torch.tensor([corpus.owners.index(r.owner) for r in corpus.records])
    summed = torch.zeros(len(by_record), len(corpus.owners)).index_add_(1, owner_of, by_record)
    _close(owners.raw_scores(*q), summed)


@pytest.mark.parametrize("sees", ["prompt+response", "response"])
def test_a_copied_answer_is_attributed_to_its_owner(target, sees):
    path, cfg, corpus = target
    attr = build_attributor("trak", {"projection_dim": 512}, context(path, cfg, sees)).fit(corpus)
    prompts, responses = [r.prompt for r in corpus.records], [r.response for r in corpus.records]
    truth = torch.tensor([attr.owners.index(r.owner) for r in corpus.records])
    scores = attr.score(prompts, responses)
    assert torch.equal(attr.raw_scores(prompts, responses).argmax(1), truth)
    assert (scores >= 0).all() and torch.allclose(scores.sum(1), torch.ones(len(scores)))
    assert scores[torch.arange(len(truth)), truth].mean() > 0.6


def test_dense_projection_in_groups_equals_one_pass(target):
    path, cfg, corpus = target
    opts = {"projection_dim": 64, "projection_structure": "dense", "projection_cache_mb": 0}
    one = build_attributor("trak", opts, context(path, cfg)).fit(corpus)
    tiny_groups = build_attributor("trak", {**opts, "projection_batch_mb": 1e-6},
                                   context(path, cfg)).fit(corpus)
    q = queries(corpus)
    _close(tiny_groups.raw_scores(*q), one.raw_scores(*q))


def test_checkpoint_ensemble_averages_scores(target):
    path, cfg, corpus = target
    one = build_attributor("trak", {"projection_dim": 128}, context(path, cfg)).fit(corpus)
    two = build_attributor("trak", {"projection_dim": 128, "checkpoints": [str(path), str(path)]},
                           context(path, cfg)).fit(corpus)
    assert two.owner_vectors.shape[0] == 2
    q = queries(corpus)
    _close(two.raw_scores(*q), one.raw_scores(*q))


def test_save_load_gives_identical_scores(target, tmp_path):
    path, cfg, corpus = target
    attr = build_attributor("trak", {"projection_dim": 256, "projection": "gaussian"},
                            context(path, cfg)).fit(corpus)
    attr.save(tmp_path / "trak")
    again = load_attributor(tmp_path / "trak", context(path, cfg))
    q = queries(corpus)
    torch.testing.assert_close(again.score(*q), attr.score(*q), rtol=0, atol=0)


def test_qlora_4bit_attributor_model(target):
    pytest.importorskip("bitsandbytes")
    path, cfg, corpus = target
    attr = build_attributor("trak", {"mode": "qlora", "projection_dim": 256},
                            context(path, cfg)).fit(corpus)
    assert_scores_own_records(attr, corpus)


def test_bad_options_are_clear_errors(target):
    path, cfg, _ = target
    with pytest.raises(AttributorError, match="projection"):
        build_attributor("trak", {"projection": "sparse"}, context(path, cfg))
    with pytest.raises(AttributorError, match="needs projection_structure=dense"):
        build_attributor("trak", {"projection": "orthogonal"}, context(path, cfg))
    with pytest.raises(AttributorError, match="needs a model"):
        build_attributor("trak", {}, None).fit(target[2])
