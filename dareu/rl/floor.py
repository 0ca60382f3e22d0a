"""The floor: the forget mass that "not attributable" has on a corpus, and the rule built on it.

An answer about someone a model never saw is an invention. The attributor still gives it some
mass on any owner whose answers it resembles, and that mass is the level a model that never saw
the forget owners reaches: below it, unlearning removes nothing the oracle would not also write.
`invention_masses` estimates it from inventions of the model before unlearning (answers to
questions about people it does not know), scored against owners other than the forget owners
(the target knows the forget owners, so its inventions borrow from them): K forget owners get,
on an invention, K times the mean share of a retain owner the invention is not copied from. The
floor is their mean; their spread says how far a group of G answers at the floor strays from it.

`at_floor` compares each prompt's group of G rewards against the floor: single answers are
noisy, so the group's mean is the quantity, and it is at the floor when it is within the floor's
own standard error for G answers (or `RESOLUTION`) of it.
`floor_advantages` pushes only groups above it, and only down to it. `pass_at_floor` says when
the forget prompts as a whole are at the floor: the n pooled answers of a pass over them, by the
same test at n answers. The tolerance is the floor's own error, not the answers' spread: with
few forget prompts, one answer still fully attributed widens the answers' error enough to pass
as noise, and "not shown to differ" is not "at the floor".
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dareu.rl.advantages import _groups

RESOLUTION = 0.01
"""Mass differences below this are not attribution: a floor of 0 is reached at a mean of 0.01."""


def invention_masses(shares: Tensor, forget: Tensor) -> Tensor:
    """shares (N, K): each invention's attribution shares over the K owners (rows sum to 1);
    forget (K,) bool -> (N,) K_forget × the mean share of a retain owner other than the
    invention's top owner (the one it is copied from, if any); all 0 with fewer than two retain
    owners."""
    retain = shares[:, ~forget].float()  # (N, Kr)
    n_forget, n_retain = int(forget.sum()), retain.shape[1]
    if n_retain < 2:
        return torch.zeros(retain.shape[0])
    others = retain.sum(-1) - retain.max(-1).values  # (N,) the shares left after the top owner
    return n_forget * others / (n_retain - 1)


def invention_floor(shares: Tensor, forget: Tensor) -> tuple[float, float]:
    """The floor and its spread: mean and standard deviation of `invention_masses` ((0, 0)
    without inventions)."""
    m = invention_masses(shares, forget)
    if m.numel() == 0:
        return 0.0, 0.0
    return float(m.mean()), float(m.std(unbiased=True)) if m.numel() > 1 else 0.0


def at_floor(rewards: Tensor, group_size: int, floor: float, spread: float = 0.0) -> Tensor:
    """(N,) rewards (−mass − charges) in groups of G -> (N/G,) bool: the group's mean is at or
    above −floor − max(spread / √G, RESOLUTION), `spread` being the floor's (per answer)."""
    return _groups(rewards, group_size).mean(dim=1) >= -floor - tolerance(spread, group_size)


def tolerance(spread: float, n: int) -> float:
    """How far above the floor the mean of n answers at it may lie: the floor's per-answer
    spread over √n, at least RESOLUTION."""
    return max(spread / math.sqrt(max(n, 1)), RESOLUTION)


def pass_at_floor(mean: float, n: int, floor: float, spread: float) -> bool:
    """Whether n pooled answers whose mean (−reward) is `mean` are at the floor."""
    return mean - floor <= tolerance(spread, n)


def floor_advantages(group_advantages: Tensor, rewards: Tensor, group_size: int,
                     floor: float, spread: float = 0.0) -> Tensor:
    """Advantages of groups above the floor: the group-relative term plus each answer's distance
    below the floor, min(r_i + floor, 0) (a memorised group, all answers alike, has no group
    term and is still pushed); groups at the floor get 0. (N,) each -> (N,)."""
    adv = group_advantages + (rewards + floor).clamp(max=0)
    done = at_floor(rewards, group_size, floor, spread).unsqueeze(1)  # (N/G, 1)
    adv = adv.view(-1, group_size)
    return torch.where(done, torch.zeros_like(adv), adv).reshape(-1)
