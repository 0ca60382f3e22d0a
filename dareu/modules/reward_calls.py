"""How DareU calls its reward (`dareu.reward.DeAttributionReward` or any look-alike): always in
eval mode, and rewards and forget mass in one attributor pass where the reward offers both."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor, nn


class Reward(Protocol):
    """What DareU needs from a reward: `dareu.reward.DeAttributionReward` or any look-alike."""

    def rewards(self, prompts: list[str], responses: list[str]) -> Tensor: ...  # (N,)

    def forget_mass(self, prompts: list[str], responses: list[str]) -> Tensor: ...  # (N,)


def eval_mode(reward: Reward) -> Reward:
    """`reward`, put in eval mode when it is a network (Lightning's `.train()` reaches it as a
    submodule of the LightningModule)."""
    if isinstance(reward, nn.Module):
        reward.eval()
    return reward


def score(reward: Reward, prompts: list[str], responses: list[str],
          device: torch.device) -> tuple[Tensor, Tensor]:
    """Rewards and forget-owner mass of each response, float32 (N,) each on `device`."""
    eval_mode(reward)
    both = getattr(reward, "rewards_and_mass", None)
    if both is not None:  # one attributor pass for both
        rewards, mass = both(prompts, responses)
    else:
        rewards = reward.rewards(prompts, responses)
        mass = reward.forget_mass(prompts, responses)
    return (torch.as_tensor(rewards, dtype=torch.float32).to(device),
            torch.as_tensor(mass, dtype=torch.float32).to(device))


def costs(reward: Reward, prompts: list[str], answers: list[str], device: torch.device) -> Tensor:
    """Minus the reward of each answer (forget mass + charges), float32 (N,) on `device`."""
    cost = -torch.as_tensor(eval_mode(reward).rewards(prompts, answers), dtype=torch.float32)
    return cost.to(device)
