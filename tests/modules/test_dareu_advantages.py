"""How DareU shapes its advantages and stops on the tiny harness: the floor (`unlearn.floor`),
measured before the first step or set, the push down to it, and the stop once the forget prompts
are at it."""

from __future__ import annotations

import pytest
import torch

from tests.modules.dareu_harness import FullMass, base, fit, make  # noqa: F401 (base: fixture)

QUIET = ["unlearn.reward.fluency.weight=0", "unlearn.objective.epochs=1"]


class SharesReward(FullMass):
    """A reward with an attributor's owner shares: every answer gives each owner the same share,
    so the measured floor is (forget owners) / (owners)."""

    def __init__(self, owners: int, forget: int, mass: float = 1.0) -> None:
        super().__init__(mass)
        self.forget_index = torch.zeros(owners, dtype=torch.bool)
        self.forget_index[:forget] = True
        self.probed = 0

    def owner_shares(self, prompts, responses):
        self.probed += len(responses)
        n = self.forget_index.numel()
        return torch.full((len(responses), n), 1 / n)


@pytest.mark.parametrize("mass", [1.0, 0.3])
def test_groups_above_the_floor_are_pushed_down_to_it(base, mass):
    # no spread in a group: no group term; the push is each answer's distance to the floor
    rows = fit(make(base, QUIET + ["unlearn.floor=0.1"], reward=FullMass(mass)), steps=1)
    assert rows[0]["advantage_abs"] == pytest.approx(mass - 0.1, rel=1e-4)
    assert rows[0]["at_floor"] == 0.0 and rows[0]["floor"] == pytest.approx(0.1)


def test_a_run_at_the_floor_stops_after_one_pass_over_the_forget_prompts(base):
    module = make(base, QUIET + ["unlearn.floor=0.1"], reward=FullMass(0.05))
    rows = fit(module, steps=20)
    # 8 forget prompts, 4 per step: two steps show every one, all at the floor, then it stops
    assert len(module.forget_prompts) == 8 and module.floor.steps_per_pass == 2
    assert len(rows) == 2 and all(r["at_floor"] == 1.0 and r["advantage_abs"] == 0 for r in rows)
    # pushing to zero does not stop while mass is left
    assert len(fit(make(base, QUIET + ["unlearn.floor=0"], reward=FullMass(0.05)), steps=3)) == 3


def test_the_floor_is_measured_before_the_first_step_and_survives_a_resume(base):
    reward = SharesReward(owners=6, forget=2)
    module = make(base, QUIET, reward=reward)  # unlearn.floor: auto (the default)
    assert module.floor.level is None and module.floor.probe  # retain questions, names swapped
    rows = fit(module, steps=1)
    assert module.floor.level == pytest.approx(2 / 6, rel=1e-5)  # 2 owners × 1/6 of the mass
    assert rows[0]["floor"] == pytest.approx(2 / 6, rel=1e-5)
    assert reward.probed == len(module.floor.probe)
    resumed = make(base, QUIET, reward=SharesReward(owners=6, forget=2))
    checkpoint = {"state_dict": {}}
    module.on_save_checkpoint(checkpoint)
    resumed.on_load_checkpoint(checkpoint)
    assert resumed.floor.level == pytest.approx(module.floor.level)
    fit(resumed, steps=1)
    assert resumed.reward.probed == 0  # restored, not measured again


def test_a_reward_without_owner_shares_pushes_to_zero(base):
    module = make(base, QUIET, reward=FullMass(0.5))
    fit(module, steps=1)
    assert module.floor.level == 0.0
