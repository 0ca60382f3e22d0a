import math

import pytest
import torch

from dareu.rl import full_kl, kl_estimate, token_full_kl


def test_kl_estimate_hand_values():
    logp = torch.tensor([[math.log(0.5), math.log(0.2)]])
    ref = torch.tensor([[math.log(0.25), math.log(0.2)]])
    d = math.log(2.0)
    torch.testing.assert_close(kl_estimate(logp, ref, "k1"), torch.tensor([[d, 0.0]]))
    torch.testing.assert_close(kl_estimate(logp, ref, "k2"), torch.tensor([[0.5 * d * d, 0.0]]))
    # k3: r = ref/p = 0.5 -> 0.5 - log 0.5 - 1
    torch.testing.assert_close(kl_estimate(logp, ref, "k3"), torch.tensor([[0.5 + d - 1.0, 0.0]]))
    torch.testing.assert_close(kl_estimate(logp, ref), kl_estimate(logp, ref, "k3"))


def test_kl_estimate_matches_loop_and_k3_nonnegative():
    g = torch.Generator().manual_seed(0)
    logp, ref = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    k3 = kl_estimate(logp, ref, "k3")
    ref_loop = torch.empty(4, 6)
    for b in range(4):
        for t in range(6):
            d = float(ref[b, t] - logp[b, t])
            ref_loop[b, t] = math.exp(d) - d - 1
    torch.testing.assert_close(k3, ref_loop)
    assert (k3 >= 0).all() and (kl_estimate(logp, ref, "k2") >= 0).all()


def test_k1_and_k3_unbiased_for_true_kl():
    # E_{x~p}[k] = KL(p || q) for k1 and k3 (exact expectation over a small vocab)
    p = torch.tensor([0.6, 0.3, 0.1])
    q = torch.tensor([0.2, 0.5, 0.3])
    true = (p * (p / q).log()).sum()
    for kind in ("k1", "k3"):
        est = (p * kl_estimate(p.log(), q.log(), kind)).sum()
        torch.testing.assert_close(est, true)


def test_kl_estimate_bad_kind():
    x = torch.zeros(1, 1)
    with pytest.raises(ValueError, match=r"'k4'.*k1, k2, k3"):
        kl_estimate(x, x, "k4")


def test_full_kl_matches_loop_and_masks():
    g = torch.Generator().manual_seed(1)
    lp, lq = torch.randn(2, 3, 5, generator=g), torch.randn(2, 3, 5, generator=g)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    per = torch.empty(2, 3)
    for b in range(2):
        for t in range(3):
            p = torch.softmax(lp[b, t].double() / 0.8, -1).tolist()
            q = torch.softmax(lq[b, t].double() / 0.8, -1).tolist()
            per[b, t] = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    torch.testing.assert_close(token_full_kl(lp, lq, 0.8), per, atol=1e-5, rtol=1e-5)
    expected = (per[0, 0] + per[0, 1] + per[1, 0]) / 3
    torch.testing.assert_close(full_kl(lp, lq, mask, temperature=0.8), expected, atol=1e-5, rtol=1e-5)
    # identical distributions -> 0; KL >= 0
    assert full_kl(lp, lp, mask).abs().item() < 1e-6
    assert (token_full_kl(lp, lq) >= -1e-6).all()


def test_full_kl_bf16_and_gradient_into_policy():
    g = torch.Generator().manual_seed(2)
    ref = torch.randn(2, 3, 11, generator=g).to(torch.bfloat16)
    pol = torch.randn(2, 3, 11, generator=g).to(torch.bfloat16).requires_grad_()
    mask = torch.ones(2, 3, dtype=torch.bool)
    kl = full_kl(ref, pol, mask)
    assert kl.dtype == torch.float32
    torch.testing.assert_close(kl, full_kl(ref.float(), pol.detach().float(), mask))
    kl.backward()
    assert pol.grad is not None and torch.isfinite(pol.grad.float()).all()
    # gradient descent on the policy reduces KL(ref || policy)
    with torch.no_grad():
        stepped = pol.float() - 1.0 * pol.grad.float()
    assert full_kl(ref.float(), stepped, mask) < kl
