"""Every baseline loss against a hand-computed example."""

import math

import pytest
import torch

from dareu.modules.baselines.losses import (dpo_loss, grad_ascent_loss, kl_retain_loss, nll_loss,
                                            npo_loss, sequence_nll, simnpo_loss)

# two answers: 2 tokens (logp −1, −2) and 1 token (logp −3); the rest is padding, even nan
LOGPS = torch.tensor([[-1.0, -2.0, float("nan")], [-3.0, -9.0, -9.0]])
MASK = torch.tensor([[True, True, False], [True, False, False]])


def test_sequence_nll_is_the_mean_token_nll_of_each_answer():
    assert torch.allclose(sequence_nll(LOGPS, MASK), torch.tensor([1.5, 3.0]))


def test_nll_loss_weighs_every_answer_equally():
    assert nll_loss(LOGPS, MASK).item() == pytest.approx((1.5 + 3.0) / 2)


def test_grad_ascent_is_minus_nll():
    assert grad_ascent_loss(LOGPS, MASK).item() == pytest.approx(-2.25)


@pytest.mark.parametrize("beta", [0.1, 1.0])
def test_npo_at_the_reference_is_2_over_beta_log_2(beta):
    logp = torch.tensor([-5.0, -12.0])
    assert npo_loss(logp, logp.clone(), beta).item() == pytest.approx(2 / beta * math.log(2))


def test_npo_by_hand():
    # log-ratios +1 and −1, β = 0.5: −4 · mean(log σ(−0.5), log σ(0.5))
    pol, ref = torch.tensor([-4.0, -6.0]), torch.tensor([-5.0, -5.0])
    expected = -4 * (math.log(1 / (1 + math.exp(0.5))) + math.log(1 / (1 + math.exp(-0.5)))) / 2
    assert npo_loss(pol, ref, 0.5).item() == pytest.approx(expected)


def test_npo_falls_as_the_policy_forgets():
    ref = torch.tensor([-5.0])
    assert npo_loss(ref - 10, ref, 0.1) < npo_loss(ref, ref, 0.1) < npo_loss(ref + 1, ref, 0.1)


def test_simnpo_by_hand():
    # avg NLL 2, δ 1, β 1: −2 log σ(1) = 2 log(1 + e^−1)
    assert simnpo_loss(torch.tensor([2.0]), 1.0, 1.0).item() == pytest.approx(2 * math.log(1 + math.exp(-1)))


def test_simnpo_at_delta_equal_nll_is_2_over_beta_log_2():
    assert simnpo_loss(torch.tensor([0.7, 0.7]), 4.5, 0.7).item() == pytest.approx(2 / 4.5 * math.log(2))


def test_dpo_with_equal_log_ratios_is_2_over_beta_log_2():
    c, r = torch.tensor([-3.0, -8.0]), torch.tensor([-6.0, -2.0])
    # the policy moved both answers by the same amount: margin 0
    assert dpo_loss(c + 0.5, c, r + 0.5, r, 0.1).item() == pytest.approx(20 * math.log(2))


def test_dpo_by_hand():
    # chosen log-ratio +1, rejected −1: margin 2, β = 0.5 → −4 log σ(1)
    loss = dpo_loss(torch.tensor([-1.0]), torch.tensor([-2.0]), torch.tensor([-3.0]),
                    torch.tensor([-2.0]), 0.5)
    assert loss.item() == pytest.approx(4 * math.log(1 + math.exp(-1)))


def test_kl_retain_by_hand():
    # vocab of 2: reference p = (1/2, 1/2) from equal logits, policy q = softmax(0, log 3) = (1/4, 3/4)
    ref = torch.zeros(1, 2, 2)
    pol = torch.tensor([[[0.0, math.log(3)], [5.0, -5.0]]])
    mask = torch.tensor([[True, False]])  # the second position is padding
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl_retain_loss(ref, pol, mask).item() == pytest.approx(expected, rel=1e-5)
    assert kl_retain_loss(pol, pol, torch.ones(1, 2, dtype=torch.bool)).item() == pytest.approx(0, abs=1e-6)


def test_losses_are_differentiable():
    pol = torch.tensor([-4.0, -6.0], requires_grad=True)
    npo_loss(pol, torch.tensor([-5.0, -5.0]), 0.1).backward()
    assert pol.grad is not None and (pol.grad > 0).all()  # descending the loss lowers log π_θ
