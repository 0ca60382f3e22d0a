"""How DareU draws answers from its policy: a rollout's sampled responses, each draw seeded by
(unlearn.seed, stream, step, rank) so that a rerun or a resume draws the same ones and the
caller's random stream is left as it was; and the greedy answers the floor's stop reads. Under
FSDP2 the policy is gathered once for a whole decode (`dareu.sharding.gathered`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dareu.config.unlearn import SamplingConfig
from dareu.generation import generate
from dareu.sampling import sample
from dareu.sharding import gathered


def rollout_seed(seed: int, step: int, stream: int, rank: int) -> int:
    """The seed of one draw, distinct for each (unlearn.seed, stream, step, rank)."""
    return (((seed * 7919 + stream) * 1_000_003 + step) * 4099 + rank) % 2**63


def seeded_sample(model: nn.Module, tokenizer, enc: dict[str, Tensor], per_prompt: int,
                  sampling: SamplingConfig, seed: int, device: torch.device) -> Tensor:
    """`per_prompt` sampled continuations of each encoded prompt, (B·per_prompt, Tp + R), drawn
    under `seed` (`unlearn.sampling`: length, temperature, decoder)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad(), gathered(model):
        torch.manual_seed(seed)
        return sample(model, enc["input_ids"], enc["attention_mask"], per_prompt,
                      sampling.max_new_tokens, tokenizer.eos_token_id, tokenizer.pad_token_id,
                      temperature=sampling.temperature, decode=sampling.decode)


def greedy_answers(model: nn.Module, tokenizer, texts: list[str], max_new_tokens: int,
                   batch_size: int | None = None) -> list[str]:
    """The model's greedy answer to each formatted prompt (`batch_size` at a time; all at once by
    default): what evaluation reads, what the floor is measured on and what the stop compares
    with it; sampled answers keep a tail of attributed draws that greedy ones do not."""
    with gathered(model):
        return generate(model, tokenizer, texts, max_new_tokens, batch_size or len(texts))
