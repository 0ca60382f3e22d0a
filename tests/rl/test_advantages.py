import statistics

import pytest
import torch

from dareu.rl import (gae, group_advantages, kl_estimate, kl_shaped_rewards,
                      rloo_advantages)


def test_group_advantages_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 2.0, 2.0])
    got = group_advantages(r, group_size=2, eps=1e-4)
    s = statistics.stdev([1.0, 0.0]) + 1e-4  # unbiased: sqrt(0.5)
    # the constant last group gets 0 advantage (eps keeps 0 / 0 away)
    torch.testing.assert_close(got, torch.tensor([0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s, 0.0, 0.0]))
    centred = torch.tensor([0.5, -0.5, -0.5, 0.5, 0.0, 0.0])
    torch.testing.assert_close(group_advantages(r, 2, scale="none"), centred)


def test_group_advantages_matches_loop():
    g = torch.Generator().manual_seed(0)
    r = torch.randn(12, generator=g)
    G, eps = 4, 1e-4
    ref = []
    for i in range(0, 12, G):
        grp = r[i : i + G].tolist()
        mu, sd = statistics.mean(grp), statistics.stdev(grp)
        ref += [(x - mu) / (sd + eps) for x in grp]
    torch.testing.assert_close(group_advantages(r, G, eps=eps), torch.tensor(ref))
    # groups are independent: zero mean per group
    torch.testing.assert_close(group_advantages(r, G).view(-1, G).sum(1), torch.zeros(3), atol=1e-5, rtol=0)


def test_group_advantages_errors():
    with pytest.raises(ValueError, match="divisible"):
        group_advantages(torch.zeros(5), 2)
    with pytest.raises(ValueError, match=r"'zscore'.*std, none"):
        group_advantages(torch.zeros(4), 2, scale="zscore")
    with pytest.raises(ValueError, match="group_size >= 2"):
        group_advantages(torch.zeros(4), 1)
    torch.testing.assert_close(group_advantages(torch.ones(4), 1, scale="none"), torch.zeros(4))


def test_rloo_matches_loop_and_identity():
    g = torch.Generator().manual_seed(1)
    r = torch.randn(9, generator=g)
    G = 3
    ref = []
    for i in range(0, 9, G):
        grp = r[i : i + G].tolist()
        ref += [x - (sum(grp) - x) / (G - 1) for x in grp]
    got = rloo_advantages(r, G)
    torch.testing.assert_close(got, torch.tensor(ref))
    torch.testing.assert_close(got, G / (G - 1) * group_advantages(r, G, scale="none"))
    with pytest.raises(ValueError):
        rloo_advantages(r, 1)


def _gae_loop(rewards, values, lengths, gamma, lam):
    B, T = rewards.shape
    adv = torch.zeros(B, T)
    for b in range(B):
        n = lengths[b]
        last = 0.0
        for t in reversed(range(n)):
            nv = values[b, t + 1].item() if t + 1 < n else 0.0
            delta = rewards[b, t].item() + gamma * nv - values[b, t].item()
            last = delta + gamma * lam * last
            adv[b, t] = last
    return adv


def test_gae_gamma1_lam1_is_reward_to_go_minus_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.5, -1.0, 0.0, 0.0]])
    values = torch.tensor([[0.2, 0.4, 0.6, 9.0], [0.1, 0.3, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    torch.testing.assert_close(adv, torch.tensor([[0.8, 0.6, 0.4, 0.0], [-0.6, -1.3, 0.0, 0.0]]))
    torch.testing.assert_close(ret, torch.tensor([[1.0, 1.0, 1.0, 0.0], [-0.5, -1.0, 0.0, 0.0]]))


def test_gae_lam0_is_td_error():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    values = torch.tensor([[0.5, 1.0, 1.5]])
    adv, _ = gae(rewards, values, torch.ones(1, 3), gamma=0.9, lam=0.0)
    torch.testing.assert_close(adv, torch.tensor([[1.0 + 0.9 - 0.5, 2.0 + 0.9 * 1.5 - 1.0, 3.0 - 1.5]]))


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.99, 0.9), (0.5, 1.0)])
def test_gae_matches_loop_and_padding_invariance(gamma, lam):
    g = torch.Generator().manual_seed(2)
    B, T = 5, 7
    lengths = [7, 3, 1, 5, 0]
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    rewards = torch.randn(B, T, generator=g)
    values = torch.randn(B, T, generator=g)
    # junk at padded positions must not leak
    rewards = torch.where(mask, rewards, torch.full_like(rewards, 1e6))
    values = torch.where(mask, values, torch.full_like(values, float("nan")))
    adv, ret = gae(rewards, values, mask, gamma, lam)
    ref = _gae_loop(rewards, torch.nan_to_num(values), lengths, gamma, lam)
    torch.testing.assert_close(adv, ref, atol=1e-5, rtol=1e-5)
    assert (adv[~mask] == 0).all() and (ret[~mask] == 0).all()
    torch.testing.assert_close(ret[mask], (adv + torch.nan_to_num(values))[mask])
    # extra padded columns change nothing
    pad = torch.full((B, 3), 7.0)
    adv2, ret2 = gae(torch.cat([rewards, pad], 1), torch.cat([values, pad], 1),
                     torch.cat([mask, torch.zeros(B, 3, dtype=torch.bool)], 1), gamma, lam)
    torch.testing.assert_close(adv2[:, :T], adv)
    torch.testing.assert_close(ret2[:, :T], ret)


def test_kl_shaped_rewards_hand():
    logp = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -2.0, -2.0], [-2.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.bool)
    seq = torch.tensor([10.0, 20.0])
    got = kl_shaped_rewards(seq, logp, ref, mask, beta=0.1)
    # -0.1*(logp-ref): row0 [-0.05, 0, 0.1] (+10 at t=2); row1 [-0.1] (+20 at t=0), rest 0
    torch.testing.assert_close(got, torch.tensor([[-0.05, 0.0, 10.1], [19.9, 0.0, 0.0]]))


def test_kl_shaped_rewards_loop_padding_and_empty_rows():
    g = torch.Generator().manual_seed(3)
    B, T = 4, 6
    lengths = [6, 2, 0, 4]
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    logp, ref = torch.randn(B, T, generator=g), torch.randn(B, T, generator=g)
    seq = torch.randn(B, generator=g)
    got = kl_shaped_rewards(seq, logp, ref, mask, beta=0.05)
    exp = torch.zeros(B, T)
    for b, n in enumerate(lengths):
        for t in range(n):
            exp[b, t] = -0.05 * (logp[b, t] - ref[b, t]) + (seq[b] if t == n - 1 else 0.0)
    torch.testing.assert_close(got, exp)
    k3 = kl_shaped_rewards(torch.zeros(B), logp, ref, mask, beta=0.05, kind="k3")
    torch.testing.assert_close(k3, torch.where(mask, -0.05 * kl_estimate(logp, ref, "k3"), 0.0))
    assert (k3 <= 0).all()  # k3 >= 0, so the penalty never rewards
    # padded columns with junk change nothing
    junk = torch.full((B, 2), 1e4)
    got2 = kl_shaped_rewards(seq, torch.cat([logp, junk], 1), torch.cat([ref, -junk], 1),
                             torch.cat([mask, torch.zeros(B, 2, dtype=torch.bool)], 1), beta=0.05)
    torch.testing.assert_close(got2[:, :T], got)
    assert (got2[:, T:] == 0).all()
