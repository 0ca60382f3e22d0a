import math

import pytest
import torch

from dareu.rl import (
    entropy_from_logits,
    masked_mean,
    masked_sum,
    masked_var,
    masked_whiten,
    shift_for_causal_lm,
    token_logprobs,
)


def _ref_logprobs(logits, tokens, temperature=1.0):
    B, T, _ = logits.shape
    out = torch.empty(B, T)
    for b in range(B):
        for t in range(T):
            z = [float(v) / temperature for v in logits[b, t]]
            lse = math.log(sum(math.exp(v) for v in z))
            out[b, t] = z[int(tokens[b, t])] - lse
    return out


@pytest.mark.parametrize("temperature", [1.0, 0.7, 2.0])
def test_token_logprobs_matches_loop(temperature):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, generator=g) * 3
    tokens = torch.randint(0, 5, (2, 3), generator=g)
    got = token_logprobs(logits, tokens, temperature)
    assert got.shape == (2, 3) and got.dtype == torch.float32
    torch.testing.assert_close(got, _ref_logprobs(logits, tokens, temperature), atol=1e-5, rtol=1e-5)


def test_token_logprobs_hand_example():
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])  # (1, 2, 2)
    tokens = torch.tensor([[1, 0]])
    got = token_logprobs(logits, tokens)
    torch.testing.assert_close(got, torch.tensor([[math.log(0.5), math.log(0.75)]]))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_token_logprobs_half_computes_in_float32(dtype):
    g = torch.Generator().manual_seed(1)
    logits = (torch.randn(3, 4, 50, generator=g) * 5).to(dtype)
    tokens = torch.randint(0, 50, (3, 4), generator=g)
    got = token_logprobs(logits, tokens, temperature=0.9)
    assert got.dtype == torch.float32
    # same as upcasting the (already rounded) half logits up front
    torch.testing.assert_close(got, token_logprobs(logits.float(), tokens, 0.9))


def test_token_logprobs_bf16_gradient_flows():
    logits = torch.randn(2, 3, 7).to(torch.bfloat16).requires_grad_()
    tokens = torch.randint(0, 7, (2, 3))
    token_logprobs(logits, tokens).sum().backward()
    assert logits.grad is not None and logits.grad.dtype == torch.bfloat16
    assert torch.isfinite(logits.grad.float()).all()


def test_shift_for_causal_lm():
    logits = torch.arange(2 * 4 * 3).view(2, 4, 3)
    ids = torch.arange(8).view(2, 4)
    lg, tg = shift_for_causal_lm(logits, ids)
    assert lg.shape == (2, 3, 3) and tg.shape == (2, 3)
    assert torch.equal(lg, logits[:, :3]) and torch.equal(tg, ids[:, 1:])


def test_entropy_uniform_and_onehot():
    V = 8
    logits = torch.zeros(1, 2, V)
    logits[0, 1, 3] = 1e4  # ~ one-hot
    h = entropy_from_logits(logits)
    torch.testing.assert_close(h, torch.tensor([[math.log(V), 0.0]]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_entropy_matches_loop(temperature):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 3, 6, generator=g)
    got = entropy_from_logits(logits, temperature)
    ref = torch.empty(2, 3)
    for b in range(2):
        for t in range(3):
            z = [float(v) / temperature for v in logits[b, t]]
            s = sum(math.exp(v) for v in z)
            p = [math.exp(v) / s for v in z]
            ref[b, t] = -sum(pi * math.log(pi) for pi in p)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    bf = entropy_from_logits(logits.to(torch.bfloat16), temperature)
    assert bf.dtype == torch.float32
    torch.testing.assert_close(bf, ref, atol=0.05, rtol=0.05)


def test_masked_sum_mean_hand():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert masked_sum(x, m).item() == 7.0
    assert masked_mean(x, m).item() == pytest.approx(7.0 / 3)
    torch.testing.assert_close(masked_mean(x, m, dim=1), torch.tensor([1.5, 4.0]))
    torch.testing.assert_close(masked_sum(x, m.bool(), dim=0), torch.tensor([5.0, 2.0, 0.0]))
    torch.testing.assert_close(masked_mean(x, m, dim=0), torch.tensor([2.5, 2.0, 0.0]))  # empty column -> 0


def test_masked_ops_ignore_nonfinite_padding():
    x = torch.tensor([[1.0, float("nan"), float("inf")]], requires_grad=True)
    m = torch.tensor([[True, False, False]])
    y = masked_mean(x, m)
    assert y.item() == 1.0
    y.backward()
    torch.testing.assert_close(x.grad, torch.tensor([[1.0, 0.0, 0.0]]))
    assert masked_mean(x, torch.zeros_like(m)).item() == 0.0


def test_masked_var_and_whiten_match_torch():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 5, generator=g) * 4 + 2
    m = torch.rand(3, 5, generator=g) > 0.3
    vals = x[m]
    torch.testing.assert_close(masked_var(x, m), vals.var(unbiased=True))
    torch.testing.assert_close(masked_var(x, m, unbiased=False), vals.var(unbiased=False))
    w = masked_whiten(x, m)
    torch.testing.assert_close(w[m], (vals - vals.mean()) / torch.sqrt(vals.var() + 1e-8))
    assert (w[~m] == 0).all()
    w2 = masked_whiten(x, m, shift_mean=False)
    torch.testing.assert_close(w2[m], w[m] + vals.mean())
    # padding invariance: extra masked columns with junk change nothing
    xp = torch.cat([x, torch.full((3, 2), 1e6)], 1)
    mp = torch.cat([m, torch.zeros(3, 2, dtype=torch.bool)], 1)
    torch.testing.assert_close(masked_whiten(xp, mp)[:, :5], w)


def test_masked_var_too_few_entries():
    x = torch.ones(2, 2)
    m = torch.tensor([[True, False], [False, False]])
    with pytest.raises(ValueError, match="at least 2"):
        masked_var(x, m)
    assert masked_var(x, m, unbiased=False).item() == 0.0
