"""Log-prob forwards over G responses per prompt that encode each prompt once (prefix sharing).

A rollout holds P prompts × G responses. The plain forward over the N = P·G rows of
[prompt | response] processes every prompt G times. Here the P prompts go through the model once
(with the KV cache on), the cache is repeated G times, and the N responses are run on top of it:
P·Tp + N·R token positions instead of N·(Tp + R), and the prompt's activations are held once per
group in the backward graph. Gradients flow through the cached keys/values into the prompt's
computation, so logits and gradients are those of the plain forward (tested to float tolerance).

Positions count attended tokens only, as in `dareu.sampling.sample` and the plain forward.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dareu.lm_split import LMSplit
from dareu.models import is_checkpointing
from dareu.sampling import attended_positions, cache_argument, cache_of, keeps_logits


def can_share_prefix(model: nn.Module) -> bool:
    """False when the model cannot return a KV cache in this mode (activation checkpointing while
    training turns the cache off in transformers)."""
    return not (is_checkpointing(model) and model.training)


def grouped_logits(model: nn.Module, prompt_ids: Tensor, prompt_mask: Tensor, responses: Tensor,
                   response_mask: Tensor, group: int,
                   hidden: bool = False) -> tuple[Tensor, Tensor | None]:
    """Logits predicting each response token, (N, R, V) (+ last hidden states (N, R, H)).

    `model` may also be the body of a split LM (`dareu.lm_split`): then the first tensor is the
    body's last hidden states, (N, R, H), for the head to be applied to in chunks.
    prompt_ids, prompt_mask: (P, Tp) left-padded prompts; responses, response_mask: (N, R) with
    rows grouped by prompt (G consecutive rows per prompt, as `sample` returns them).
    """
    n, r = responses.shape
    position = attended_positions(prompt_mask)  # (P, Tp)
    keep = {"logits_to_keep": 1} if keeps_logits(model) else {}
    out = model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=position,
                use_cache=True, output_hidden_states=hidden, **keep)
    first = LMSplit.features(out)[:, -1:].repeat_interleave(group, 0)  # (N, 1, V): response token 0
    first_h = out.hidden_states[-1][:, -1:].repeat_interleave(group, 0) if hidden else None
    if r == 1:
        return first, first_h
    cache = cache_of(out)
    cache.batch_repeat_interleave(group)  # differentiable: each copy's gradient reaches the prompt
    mask = torch.cat([prompt_mask.repeat_interleave(group, 0), response_mask.to(prompt_mask.dtype)], 1)
    start = position[:, -1:].repeat_interleave(group, 0)  # (N, 1) last prompt position
    response_position = start + response_mask.long().cumsum(-1)  # (N, R): last + 1, last + 2, ...
    out = model(input_ids=responses[:, :-1], attention_mask=mask[:, :-1],
                position_ids=response_position[:, :-1], use_cache=True, output_hidden_states=hidden,
                **{cache_argument(model): cache})
    logits = torch.cat([first, LMSplit.features(out)], 1)  # (N, R, V)
    states = torch.cat([first_h, out.hidden_states[-1]], 1) if hidden else None
    return logits, states
