"""Prompt formatting and tokenisation of prompt/response pairs.

Prompt and response are tokenised separately and concatenated, so the boundary the model is trained
on is exactly the boundary it generates from, and the loss covers only response tokens.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import PreTrainedTokenizerBase

IGNORE = -100


def format_prompt(prompt: str, tokenizer: PreTrainedTokenizerBase, template: str,
                  chat_template: bool = False) -> str:
    return format_primed_prompt((), prompt, tokenizer, template, chat_template)


def format_primed_prompt(pairs: Sequence[tuple[str, str]], prompt: str,
                         tokenizer: PreTrainedTokenizerBase, template: str,
                         chat_template: bool = False) -> str:
    """`prompt` formatted after question/answer `pairs` shown as earlier turns, in the same format
    (template blocks separated by a blank line, or chat turns); no pairs = the plain prompt."""
    if chat_template:
        if not getattr(tokenizer, "chat_template", None):
            from dareu.errors import ConfigError

            raise ConfigError("data.chat_template=true but the tokenizer has no chat template; "
                              "set data.chat_template=false to use data.template.")
        turns = [m for q, a in pairs for m in ({"role": "user", "content": q},
                                                {"role": "assistant", "content": a})]
        return tokenizer.apply_chat_template([*turns, {"role": "user", "content": prompt}],
                                             tokenize=False, add_generation_prompt=True)
    shots = "".join(f"{template.format(prompt=q)} {a.strip()}\n\n" for q, a in pairs)
    return shots + template.format(prompt=prompt)


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt_text: str) -> list[int]:
    ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    # a prompt that already opens with BOS (Llama's chat templates write it, and so may
    # data.template) keeps that one: a second BOS is an input the model was never trained on
    if bos is not None and getattr(tokenizer, "add_bos_token", True) and ids[:1] != [bos]:
        ids = [bos] + ids
    return ids


def encode_response(tokenizer: PreTrainedTokenizerBase, response: str) -> list[int]:
    return tokenizer(" " + response.strip(), add_special_tokens=False)["input_ids"] + [
        tokenizer.eos_token_id]


def encode_pair(tokenizer: PreTrainedTokenizerBase, prompt_text: str, response: str,
                max_length: int) -> dict[str, list[int]]:
    """input_ids = prompt + response + EOS; labels = IGNORE on the prompt (truncate the prompt's
    start first, so the answer survives)."""
    p = encode_prompt(tokenizer, prompt_text)
    r = encode_response(tokenizer, response)[:max_length - 1]
    p = p[-(max_length - len(r)):]
    return {"input_ids": p + r, "labels": [IGNORE] * len(p) + r}


def pad_batch(rows: Sequence[dict[str, list[int]]], pad_id: int, side: str = "right"
              ) -> dict[str, torch.Tensor]:
    """Pad a list of {input_ids, labels?} to a batch with attention_mask."""
    width = max(len(r["input_ids"]) for r in rows)
    out: dict[str, list] = {"input_ids": [], "attention_mask": []}
    has_labels = "labels" in rows[0]
    if has_labels:
        out["labels"] = []
    for r in rows:
        n = len(r["input_ids"])
        pad = width - n
        def place(seq, fill):
            return seq + [fill] * pad if side == "right" else [fill] * pad + seq
        out["input_ids"].append(place(r["input_ids"], pad_id))
        out["attention_mask"].append(place([1] * n, 0))
        if has_labels:
            out["labels"].append(place(r["labels"], IGNORE))
    return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
