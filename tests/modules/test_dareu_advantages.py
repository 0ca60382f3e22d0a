"""How DareU shapes its advantages on the tiny harness: the std scale, its eps, each answer's own
reward (`absolute_advantage`) and letting go of finished prompts (`let_go`)."""

from __future__ import annotations

import pytest
import torch

from dareu.modules.rollout import Rollout
from tests.modules.dareu_harness import TOY, FullMass, base, fit, make  # noqa: F401 (base: fixture)


@pytest.mark.parametrize("scale", ["std", "none"])
def test_advantage_scale_sets_the_grpo_advantage_size(base, scale):
    rows = fit(make(base, TOY + [f"unlearn.advantage_scale={scale}"]), steps=2)
    size = rows[0]["advantage_abs"]
    # the vowel reward's groups spread by ~0.1: std-scaled advantages are O(1), centred ones O(0.1)
    assert (size > 0.5) if scale == "std" else (size < 0.3), size


@pytest.mark.parametrize("mass", [1.0, 0.01])
def test_absolute_advantage_pushes_groups_without_spread_until_the_mass_is_gone(base, mass):
    quiet = ["unlearn.fluency_weight=0", "unlearn.ppo_epochs=1", "unlearn.let_go=0"]
    # the group term alone: equal rewards, zero advantages, no push
    rows = fit(make(base, quiet + ["unlearn.absolute_advantage=0"], reward=FullMass(mass)), steps=1)
    assert rows[0]["advantage_abs"] == pytest.approx(0.0, abs=1e-6)
    # the absolute term: every answer pushed by w · mass (strong at 1, faded at 0.01)
    rows = fit(make(base, quiet + ["unlearn.absolute_advantage=2"], reward=FullMass(mass)), steps=1)
    assert rows[0]["advantage_abs"] == pytest.approx(2 * mass, rel=1e-4)


@pytest.mark.parametrize("mass", [1.0, 0.01])
def test_let_go_stops_pushing_prompts_whose_answers_are_no_longer_attributed(base, mass):
    quiet = ["unlearn.fluency_weight=0", "unlearn.ppo_epochs=1", "unlearn.let_go=0.05"]
    always = quiet + ["unlearn.let_go_start_mass=1"]  # whatever the target memorised
    rows = fit(make(base, always, reward=FullMass(mass)), steps=1)
    done = mass <= 0.05
    assert rows[0]["let_go"] == (1.0 if done else 0.0)
    # the absolute push (w · mass) stays on attributed groups and is gone from finished ones
    assert rows[0]["advantage_abs"] == (pytest.approx(0.0, abs=1e-9) if done
                                        else pytest.approx(mass, rel=1e-4))
    off = fit(make(base, quiet[:2] + ["unlearn.let_go=0"], reward=FullMass(mass)), steps=1)[0]
    assert "let_go" not in off and off["advantage_abs"] == pytest.approx(mass, rel=1e-4)


@pytest.mark.parametrize("start_mass,in_force", [(0.9, False), (0.3, True)])
def test_let_go_is_in_force_only_on_a_barely_memorised_target(base, start_mass, in_force):
    # the first rollout's mean mass decides once: 0.9 (memorised) keeps pushing after the mass is
    # gone, 0.3 (barely memorised) lets go
    class Falling(FullMass):
        def forget_mass(self, prompts, responses):
            self.reads = getattr(self, "reads", 0) + 1
            # rewards() and forget_mass() each read it once per rollout
            return torch.full((len(responses),), start_mass if self.reads <= 2 else 0.01)

    module = make(base, ["unlearn.fluency_weight=0", "unlearn.ppo_epochs=1", "unlearn.let_go=0.05",
                         "unlearn.let_go_start_mass=0.5"], reward=Falling())
    rows = fit(module, steps=2)
    assert module.let_go.start_mass == pytest.approx(start_mass)
    assert ("let_go" in rows[1]) == in_force
    assert rows[1]["advantage_abs"] == (pytest.approx(0.0, abs=1e-9) if in_force
                                        else pytest.approx(0.01, rel=1e-4))
    resumed = make(base, ["unlearn.let_go=0.05"], reward=Falling())
    assert make(base, ["unlearn.algorithm=ppo"]).let_go.level == 0  # ppo: no groups, never in force
    resumed.on_load_checkpoint({"dareu": module.let_go.state_dict()})  # the rule survives a resume
    assert resumed.let_go.start_mass == pytest.approx(start_mass)


def test_advantage_eps_lets_converged_groups_go(base):
    # masses 0.010-0.013 (attributor noise once the job is done) and 0.1-0.9 (still attributed)
    rewards = -torch.tensor([0.010, 0.011, 0.012, 0.013, 0.1, 0.4, 0.6, 0.9])
    push = {}
    for eps in ("1e-4", "0.05"):
        module = make(base, TOY + [f"unlearn.advantage_eps={eps}"])
        ro = Rollout(None, None, None, rewards.clone(), -rewards, ref_logp=None, group_size=4)
        module._advantages(ro)
        push[eps] = ro.advantages.abs().view(2, 4).mean(1)
    assert push["1e-4"][0] > 0.5  # ±1.08 / ±0.36: noise read as full pressure
    assert push["0.05"][0] < 0.05 and push["0.05"][1] > 0.8 * push["1e-4"][1]
