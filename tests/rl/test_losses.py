import pytest
import torch

from dareu.rl import aggregate, clipped_policy_loss, clipped_value_loss


def _ref_policy_loss(logp, old, adv, eps_lo, eps_hi):
    B, T = logp.shape
    out = torch.zeros(B, T)
    for b in range(B):
        for t in range(T):
            a = float(adv[b] if adv.dim() == 1 else adv[b, t])
            rho = float(torch.exp(logp[b, t] - old[b, t]))
            rc = min(max(rho, 1 - eps_lo), 1 + eps_hi)
            out[b, t] = -min(rho * a, rc * a)
    return out


@pytest.mark.parametrize("eps_high", [None, 0.28])
def test_clipped_policy_loss_matches_loop(eps_high):
    g = torch.Generator().manual_seed(0)
    B, T = 3, 5
    logp, old = torch.randn(B, T, generator=g) * 0.5, torch.randn(B, T, generator=g) * 0.5
    mask = torch.ones(B, T, dtype=torch.bool)
    for adv in (torch.randn(B, generator=g), torch.randn(B, T, generator=g)):
        loss, frac = clipped_policy_loss(logp, old, adv, mask, 0.2, eps_high)
        ref = _ref_policy_loss(logp, old, adv, 0.2, 0.2 if eps_high is None else eps_high)
        torch.testing.assert_close(loss, ref)
        assert 0.0 <= frac.item() <= 1.0 and not frac.requires_grad


def test_clipped_policy_loss_hand_and_clip_fraction():
    old = torch.zeros(1, 4)
    ratios = torch.tensor([[1.0, 1.5, 0.5, 1.25]])
    logp = ratios.log()
    adv = torch.tensor([[1.0, 1.0, 1.0, -1.0]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    loss, frac = clipped_policy_loss(logp, old, adv, mask, clip_eps=0.2)
    # A>0: -min(rho, clip(rho)) -> -1, -1.2 (clipped), -0.5 (unclipped is smaller)
    # A<0: -min(-1.25, -1.2) = 1.25
    torch.testing.assert_close(loss, torch.tensor([[-1.0, -1.2, -0.5, 1.25]]))
    assert frac.item() == pytest.approx(0.25)  # only the 1.5 token is clipped
    loss_hi, _ = clipped_policy_loss(logp, old, adv, mask, clip_eps=0.2, clip_eps_high=0.3)
    torch.testing.assert_close(loss_hi, torch.tensor([[-1.0, -1.3, -0.5, 1.25]]))


def test_policy_gradient_sign():
    logp = torch.full((2, 3), -1.0, requires_grad=True)
    old = logp.detach().clone()
    mask = torch.ones(2, 3, dtype=torch.bool)
    loss, _ = clipped_policy_loss(logp, old, torch.tensor([1.0, -1.0]), mask)
    aggregate(loss, mask).backward()
    assert (logp.grad[0] < 0).all()  # descent raises logp where A > 0
    assert (logp.grad[1] > 0).all()  # and lowers it where A < 0
    # a clipped token gets no gradient
    logp2 = torch.tensor([[0.5]], requires_grad=True)  # rho = e^0.5 > 1.2
    loss2, _ = clipped_policy_loss(logp2, torch.zeros(1, 1), torch.tensor([1.0]), torch.ones(1, 1))
    loss2.sum().backward()
    assert logp2.grad.item() == 0.0


def test_policy_loss_padding_invariance():
    g = torch.Generator().manual_seed(1)
    logp, old = torch.randn(2, 4, generator=g), torch.randn(2, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    adv = torch.tensor([0.7, -0.3])
    loss, frac = clipped_policy_loss(logp, old, adv, mask)
    assert (loss[~mask] == 0).all()
    junk = torch.full((2, 3), 50.0)
    pmask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], 1)
    loss2, frac2 = clipped_policy_loss(torch.cat([logp, junk], 1), torch.cat([old, -junk], 1), adv, pmask)
    torch.testing.assert_close(loss2[:, :4], loss)
    assert frac2 == frac
    for mode in ("dapo", "token_mean", "seq_mean"):
        torch.testing.assert_close(aggregate(loss2, pmask, mode), aggregate(loss, mask, mode))


def test_clipped_value_loss_hand_and_loop():
    values = torch.tensor([[1.0, 0.0, 0.5, 3.0]])
    old = torch.tensor([[0.5, 0.5, 0.5, 0.0]])
    ret = torch.tensor([[0.0, 1.0, 0.5, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    got = clipped_value_loss(values, old, ret, mask, clip=0.2)
    # t0: v=1 -> clipped 0.7; max(1, 0.49)=1 -> 0.5 ; t1: v=0 -> clipped 0.3; max(1, 0.49) -> 0.5
    # t2: v=old=R -> 0 ; t3 padded -> 0
    torch.testing.assert_close(got, torch.tensor([[0.5, 0.5, 0.0, 0.0]]))
    g = torch.Generator().manual_seed(2)
    v, o, r = (torch.randn(3, 4, generator=g) for _ in range(3))
    m = torch.ones(3, 4)
    ref = torch.empty(3, 4)
    for b in range(3):
        for t in range(4):
            vc = float(o[b, t]) + min(max(float(v[b, t] - o[b, t]), -0.3), 0.3)
            ref[b, t] = 0.5 * max(float(v[b, t] - r[b, t]) ** 2, (vc - float(r[b, t])) ** 2)
    torch.testing.assert_close(clipped_value_loss(v, o, r, m, clip=0.3), ref)


def test_aggregate_modes_hand():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]])
    m = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.bool)
    assert aggregate(x, m, "dapo").item() == pytest.approx(10.0 / 4)
    assert aggregate(x, m, "token_mean").item() == pytest.approx(10.0 / 4)
    assert aggregate(x, m, "seq_mean").item() == pytest.approx((2.0 + 4.0) / 2)
    assert aggregate(x, m, "dapo", num_active_tokens=20).item() == pytest.approx(0.5)
    assert aggregate(x, m, "dapo", num_active_tokens=torch.tensor(8.0)).item() == pytest.approx(1.25)
    assert aggregate(x, torch.zeros_like(m)).item() == 0.0


def test_aggregate_dapo_global_count_splits_exactly():
    # two micro-batches with a shared global count sum to the full-batch token mean
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 5, generator=g)
    m = torch.rand(4, 5, generator=g) > 0.4
    n = m.sum()
    parts = aggregate(x[:2], m[:2], "dapo", n) + aggregate(x[2:], m[2:], "dapo", n)
    torch.testing.assert_close(parts, aggregate(x, m, "token_mean"))


def test_aggregate_bad_mode():
    with pytest.raises(ValueError, match=r"'sum'.*dapo, token_mean, seq_mean"):
        aggregate(torch.zeros(1, 1), torch.ones(1, 1), "sum")
