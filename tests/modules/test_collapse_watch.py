"""The collapse watch on its own: what counts as a collapsed step, and what a checkpoint keeps.
(That a collapse stops a real DareU run is tested in test_dareu.py.)"""

from __future__ import annotations

import pytest

from dareu.errors import PolicyCollapsed
from dareu.modules.collapse_watch import CollapseWarning, CollapseWatch


def watch(on_collapse: str = "warn") -> CollapseWatch:
    return CollapseWatch(on_collapse, lambda: "CKPT_DIR")


def test_a_memorised_start_is_not_a_collapse_but_becoming_deterministic_is():
    # a target that memorised its forget answers samples them at ~0.01 nats from the first step
    memorised = watch()
    for entropy in (0.02, 0.007, 0.006, 0.009, 0.004):  # it wanders at tiny entropies
        memorised.observe(0, response_len=30.0, entropy=entropy)
    assert memorised.streak == 0
    # a policy that started at 1 nat and fell to 0.01: collapsed, warned on the third step
    fell = watch()
    fell.observe(0, response_len=30.0, entropy=1.0)
    with pytest.warns(CollapseWarning, match="entropy 0.010"):
        for _ in range(3):
            fell.observe(0, response_len=30.0, entropy=0.01)
    assert fell.streak == 3


def test_a_stop_names_the_checkpoint_and_a_resumed_watch_counts_on():
    first = watch("stop")
    for _ in range(2):
        first.observe(7, response_len=1.0, entropy=1.0)  # empty answers: collapsed
    resumed = watch("stop")
    resumed.load_state_dict(first.state_dict())
    assert (resumed.streak, resumed.start_entropy) == (2, 1.0)
    with pytest.raises(PolicyCollapsed, match="step 8 .*kept in CKPT_DIR"):
        resumed.observe(8, response_len=1.0, entropy=1.0)
