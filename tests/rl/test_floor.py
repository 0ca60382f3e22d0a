"""The floor: its estimate from inventions, which groups are at it, and the push down to it."""

import torch

from dareu.rl import at_floor, floor_advantages, group_advantages, invention_floor


def test_invention_floor_is_the_share_of_owners_an_invention_is_not_copied_from():
    forget = torch.tensor([True, True, False, False, False, False])
    # copies of one retain owner's answers: no share left for anyone else -> floor 0
    copies = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.1, 0.0, 0.0, 0.9, 0.0, 0.0]])
    assert invention_floor(copies, forget) == (0.0, 0.0)
    # diffuse inventions: every owner alike -> 2 forget owners get 2/6 of the mass, no spread
    diffuse = torch.full((3, 6), 1 / 6)
    level, spread = invention_floor(diffuse, forget)
    assert abs(level - 2 / 6) < 1e-6 and spread < 1e-6
    # the forget owners' own (inflated) shares do not count: only retain owners other than the top
    borrowed = torch.tensor([[0.4, 0.4, 0.05, 0.05, 0.05, 0.05], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    level, spread = invention_floor(borrowed, forget)
    assert abs(level - 0.05) < 1e-6 and abs(spread - 0.1 / 2 ** 0.5) < 1e-6  # 0.1 and 0
    assert invention_floor(torch.zeros(0, 6), forget) == (0.0, 0.0)  # nothing to measure on
    assert invention_floor(diffuse[:, :3], forget[:3]) == (0.0, 0.0)  # one retain owner: no "other"


def test_a_group_is_at_the_floor_when_its_mean_is_within_the_floors_own_error():
    floor, spread = 0.1, 0.08  # tolerance for 4 answers: 0.08 / 2 = 0.04
    r = -torch.tensor([0.08, 0.10, 0.12, 0.10,     # mean 0.10: at the floor
                       0.30, 0.32, 0.28, 0.30,     # mean 0.30: far above
                       0.00, 0.00, 0.00, 0.56])    # mean 0.14: at the edge (0.1 + 0.04)
    assert at_floor(r, 4, floor, spread).tolist() == [True, False, True]
    # one attributed answer among clean ones is not noise when the floor has no spread
    assert not at_floor(-torch.tensor([0.0, 0.0, 0.0, 0.8]), 4, 0.0).any()
    assert at_floor(-torch.full((4,), 0.005), 4, 0.0).all()  # a floor of 0 is reached at ~0.01
    assert not at_floor(-torch.full((4,), 0.02), 4, 0.0).any()


def test_floor_advantages_push_groups_above_down_to_the_floor_and_leave_the_rest():
    floor = 0.1
    # a memorised group (all 0.99: no spread, no group term) and a group at the floor
    r = -torch.tensor([0.99, 0.99, 0.99, 0.99, 0.10, 0.09, 0.11, 0.10])
    adv = floor_advantages(group_advantages(r, 4), r, 4, floor)
    torch.testing.assert_close(adv[:4], torch.full((4,), -0.89))  # pushed by its distance to 0.1
    assert torch.equal(adv[4:], torch.zeros(4))
    # an answer below the floor gets no push of its own, only the group-relative one
    r2 = -torch.tensor([0.0, 0.6, 0.6, 0.6])
    adv2 = floor_advantages(group_advantages(r2, 4), r2, 4, floor)
    torch.testing.assert_close(adv2[0], group_advantages(r2, 4)[0])
    assert adv2[0] > 0 > adv2[1]


def test_a_pass_is_at_the_floor_when_its_pooled_mean_is_within_the_floors_error_at_n_answers():
    from dareu.rl import pass_at_floor

    # 16 greedy answers, one still fully attributed: mean 0.0625, which the answers' own spread
    # (se 0.0625) would call noise; against a floor of 0.003 (sd 0.011) it is not at it
    assert not pass_at_floor(1 / 16, 16, floor=0.003, spread=0.011)
    assert pass_at_floor(0.0, 16, floor=0.003, spread=0.011)
    assert pass_at_floor(0.012, 16, floor=0.003, spread=0.011)  # within 0.01 of it
    # a noisy floor: 40 answers around 0.11 with sd 0.08 allow 0.0126 above it
    assert pass_at_floor(0.12, 40, floor=0.11, spread=0.08)
    assert not pass_at_floor(0.13, 40, floor=0.11, spread=0.08)
