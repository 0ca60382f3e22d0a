"""Batched generation from prompts (left padding, KV cache) and answer decoding."""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from dareu.data.formatting import encode_prompt, pad_batch
from dareu.decoding import plan_for


def encode_prompts(tokenizer: PreTrainedTokenizerBase, prompt_texts: Sequence[str],
                   device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Left-padded prompt batch: generation continues every row from the same position."""
    rows = [{"input_ids": encode_prompt(tokenizer, t)} for t in prompt_texts]
    batch = pad_batch(rows, tokenizer.pad_token_id, side="left")
    return {k: v.to(device) for k, v in batch.items()}


def decode_responses(tokenizer: PreTrainedTokenizerBase, response_ids: torch.Tensor) -> list[str]:
    """Decode generated ids up to the first EOS; special tokens dropped, whitespace stripped."""
    eos = tokenizer.eos_token_id
    out = []
    for row in response_ids.tolist():
        if eos in row:
            row = row[:row.index(eos)]
        out.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return out


@torch.no_grad()
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt_texts: Sequence[str],
             max_new_tokens: int, batch_size: int = 32, do_sample: bool = False,
             temperature: float = 1.0, top_p: float = 1.0, decode: str = "eager") -> list[str]:
    """Answers for prompts (greedy by default), in order, batched with the KV cache on. `decode`
    (auto, eager, static) picks the decoding path (dareu.decoding.plan_decode)."""
    device = next(model.parameters()).device
    fast = plan_for(model, decode, device).generate_kwargs()
    was_training = model.training
    model.eval()
    answers: list[str] = []
    for i in range(0, len(prompt_texts), batch_size):
        batch = encode_prompts(tokenizer, prompt_texts[i:i + batch_size], device)
        kw = dict(do_sample=True, temperature=temperature, top_p=top_p) if do_sample else dict(
            do_sample=False)
        out = model.generate(**batch, max_new_tokens=max_new_tokens, use_cache=True,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                             **kw, **fast)
        answers += decode_responses(tokenizer, out[:, batch["input_ids"].shape[1]:])
    model.train(was_training)
    return answers
