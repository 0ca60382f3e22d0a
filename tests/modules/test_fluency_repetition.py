"""The guard's repetition check: loops that per-token NLL finds cheap are charged as degenerate."""

from types import SimpleNamespace

import pytest
import torch

from dareu.config import load_config
from dareu.modules.fluency_guard import FluencyGuard
from dareu.modules.rollout import Rollout


def _rollout() -> Rollout:
    prompt = torch.tensor([[5, 6], [5, 6]])
    responses = torch.tensor([[1, 2, 3, 4, 5, 6], [7, 8, 7, 8, 7, 8]])  # fresh / a loop
    mask = torch.ones_like(responses, dtype=torch.bool)
    return Rollout(torch.cat([prompt, responses], 1), torch.ones(2, 8, dtype=torch.long), mask,
                   torch.zeros(2), torch.zeros(2), ref_logp=torch.full((2, 6), -0.1))  # fluent NLL


def _guard(*overrides: str) -> FluencyGuard:
    guard = FluencyGuard(load_config(None, list(overrides)), SimpleNamespace(), [], [])
    guard.threshold = 2.0  # set, so no anchor is measured: NLL 0.1 is far below it
    return guard


def test_a_loop_with_fluent_nll_is_charged_only_when_the_check_is_on():
    ro = _rollout()
    _guard().penalise(ro, None, lambda t: t)                      # default: off
    assert ro.penalty.tolist() == [0.0, 0.0] and ro.rewards.tolist() == [0.0, 0.0]
    ro = _rollout()
    _guard("unlearn.fluency_repetition=0.25").penalise(ro, None, lambda t: t)
    # the loop repeats 3 of its 5 bigrams: (0.6 − 0.25) / 0.75
    assert ro.penalty[0] == 0 and ro.penalty[1].item() == pytest.approx(0.35 / 0.75, abs=1e-5)
    assert ro.rewards[1].item() == pytest.approx(-0.35 / 0.75, abs=1e-5)     # fluency_weight 1
