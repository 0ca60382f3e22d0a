"""Rollout sampling: G continuations per prompt with the KV cache, prefilled once per prompt.

`transformers`' `generate(num_return_sequences=G)` copies every prompt G times *before* the
prefill, so the prompt is encoded G times, and each decoding step pays the generic machinery
(logits processors, stopping criteria, model-kwargs bookkeeping) that RL sampling does not need.
Here the P prompts are prefilled once, the cache is repeated G times
(`Cache.batch_repeat_interleave`), and each step is one cached forward, a temperature / top-p
draw with `torch.multinomial` (the global RNG, as `generate` draws) and a finished-row mask. With
temperature 1 and top-p 1 the draws are those of `generate` under the same seed (tested).

On CUDA the "all rows finished?" check, a device→host sync, runs every `check_every` steps, so the
host queues several steps ahead; rows that finished only produce padding meanwhile.

`decode="static"` (or `auto` on CUDA) samples through transformers' `generate` instead, with a
static KV cache and a compiled decode step (dareu.decoding): the prompts are then prefilled G times,
but every decode step is one captured graph rather than dozens of kernel launches.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch import Tensor, nn

from dareu.decoding import DecodePlan, plan_for


def top_p_filter(logits: Tensor, top_p: float) -> Tensor:
    """Logits with the tokens outside the nucleus (smallest set of mass ≥ top_p) set to −inf."""
    if top_p >= 1.0:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)
    outside = probs.cumsum(-1) - probs > top_p  # the mass before this token already reached top_p
    return logits.masked_fill(outside.scatter(-1, order, outside), float("-inf"))


def _forward_params(model: nn.Module):
    base = getattr(model, "get_base_model", lambda: model)()
    return _signature_params(type(base))


@functools.lru_cache(maxsize=None)
def _signature_params(cls: type):  # once per model class: these checks run on every forward
    return inspect.signature(cls.forward).parameters


def keeps_logits(model: nn.Module) -> bool:
    """Whether the model's forward takes `logits_to_keep` (the LM head on the last positions only)."""
    return "logits_to_keep" in _forward_params(model)


def attended_positions(attention_mask: Tensor) -> Tensor:
    """Position ids that count attended tokens only, (B, T): left padding does not shift them.
    `generate`, the rollout sampler and every log-prob forward number tokens this way."""
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


def cache_of(out) -> object:
    """The KV cache a forward returned (`past_key_values`, or `cache` in newer transformers)."""
    cache = getattr(out, "past_key_values", None)
    return cache if cache is not None else out.cache


def cache_argument(model: nn.Module) -> str:
    """`cache` (transformers ≥ 5.2x) or `past_key_values` (older releases)."""
    return "cache" if "cache" in _forward_params(model) else "past_key_values"


@torch.no_grad()
def sample(model: nn.Module, input_ids: Tensor, attention_mask: Tensor, per_prompt: int,
           max_new_tokens: int, eos_token_id: int, pad_token_id: int, temperature: float = 1.0,
           top_p: float = 1.0, check_every: int | None = None, decode: str = "eager") -> Tensor:
    """(P·G, Tp + R) sequences: left-padded prompts (rows repeated G times, interleaved) + responses.

    Responses are padded with `pad_token_id` after each row's EOS; R ≤ max_new_tokens (decoding
    stops when every row has finished). Positions count attended tokens only, as `generate` does.
    `decode` (auto, eager, static) picks the decoding path (dareu.decoding.plan_decode).
    """
    plan = plan_for(model, decode, input_ids.device)
    if plan.static:
        return _sample_generate(model, input_ids, attention_mask, per_prompt, max_new_tokens,
                                eos_token_id, pad_token_id, temperature, top_p, plan)
    if check_every is None:
        check_every = 8 if input_ids.device.type == "cuda" else 1
    was_training = model.training
    model.eval()
    keep = {"logits_to_keep": 1} if keeps_logits(model) else {}
    cache_arg = cache_argument(model)
    position = attended_positions(attention_mask)  # (P, Tp)
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position,
                use_cache=True, **keep)
    cache = cache_of(out)
    cache.batch_repeat_interleave(per_prompt)  # the prompts' keys/values, G copies each
    logits = out.logits[:, -1].float().repeat_interleave(per_prompt, 0)  # (N, V)
    attention = attention_mask.repeat_interleave(per_prompt, 0)  # (N, Tp + t)
    next_pos = position[:, -1:].repeat_interleave(per_prompt, 0) + 1  # (N, 1)
    n = logits.shape[0]
    finished = torch.zeros(n, dtype=torch.bool, device=input_ids.device)
    ones = torch.ones(n, 1, dtype=attention.dtype, device=attention.device)
    tokens: list[Tensor] = []
    for t in range(max_new_tokens):
        scaled = top_p_filter(logits / temperature, top_p)
        token = torch.multinomial(scaled.softmax(-1), num_samples=1).squeeze(1)  # (N,)
        token = token.masked_fill(finished, pad_token_id)
        tokens.append(token)
        finished = finished | (token == eos_token_id)
        if t + 1 == max_new_tokens or ((t + 1) % check_every == 0 and bool(finished.all())):
            break
        attention = torch.cat([attention, ones], 1)
        out = model(input_ids=token[:, None], attention_mask=attention, position_ids=next_pos,
                    use_cache=True, **{cache_arg: cache})
        cache, logits, next_pos = cache_of(out), out.logits[:, -1].float(), next_pos + 1
    model.train(was_training)
    responses = torch.stack(tokens, 1)  # (N, R)
    if check_every > 1:  # drop trailing steps where every row was already done
        alive = ~_done_before(responses, eos_token_id)  # (N, R)
        responses = responses[:, :int(alive.any(0).nonzero().max()) + 1]
    return torch.cat([input_ids.repeat_interleave(per_prompt, 0), responses], 1)


def _done_before(responses: Tensor, eos_token_id: int) -> Tensor:
    """(N, R) True where the row emitted EOS strictly before this position."""
    eos = (responses == eos_token_id).long().cumsum(1)
    return (eos - (responses == eos_token_id).long()) > 0


def _sample_generate(model: nn.Module, input_ids: Tensor, attention_mask: Tensor, per_prompt: int,
                     max_new_tokens: int, eos_token_id: int, pad_token_id: int, temperature: float,
                     top_p: float, plan: DecodePlan) -> Tensor:
    """`sample` through `generate` (static cache, compiled decode step): the same output layout."""
    from transformers import GenerationConfig

    # a fresh config: pure temperature / top-p sampling, none of the model's own defaults (top_k=50)
    gen = GenerationConfig(do_sample=True, temperature=temperature, top_p=top_p, top_k=0,
                           max_new_tokens=max_new_tokens, num_return_sequences=per_prompt,
                           eos_token_id=eos_token_id, pad_token_id=pad_token_id, use_cache=True)
    was_training = model.training
    model.eval()
    out = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=gen,
                         **plan.generate_kwargs())
    model.train(was_training)
    return out
