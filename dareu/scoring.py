"""Teacher-forced scoring of responses: per-item NLL, token log-probs and greedy predictions.

One forward pass per batch gives everything the probability-based metrics need: the average NLL
over response tokens (answer prob, truth ratio, MIA LOSS/zlib, perplexity), the per-token
log-probs (Min-K%) and the argmax next-token predictions aligned with the response tokens
(extraction strength). Rows come back left-aligned on the response: column 0 is its first token.
Evaluation and DareU's fluency guard both score, so it sits below eval/ and modules/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from dareu.data.formatting import IGNORE, encode_pair, pad_batch
from dareu.rl.logprobs import shift_for_causal_lm, token_logprobs


@dataclass
class ResponseScores:
    """Per-item scores of N responses, each row holding its T_i response tokens (EOS included;
    `answer_mask` leaves it out)."""

    avg_nll: Tensor
    """(N,) float64 mean NLL over the response tokens."""
    token_logps: Tensor
    """(N, T) float32 log p of each response token; 0 beyond the row's length."""
    mask: Tensor
    """(N, T) bool: True on the row's response tokens."""
    target_ids: Tensor
    """(N, T) long response token ids (pad beyond the row's length)."""
    pred_ids: Tensor
    """(N, T) long greedy (argmax) teacher-forced prediction for each response token."""
    final_eos: Tensor | None = None
    """(N,) bool: the row ends with the EOS appended after the answer (False where truncation cut
    it off); None: unknown, taken as False."""

    def __len__(self) -> int:
        return self.avg_nll.shape[0]

    @property
    def num_tokens(self) -> Tensor:
        return self.mask.sum(dim=1)

    @property
    def answer_mask(self) -> Tensor:
        """(N, T) bool: `mask` without the final EOS. open-unlearning's extraction strength and
        Min-K% score these tokens only (its token-wise log-probs drop the last label, the EOS),
        while its probabilities and LOSS keep the EOS, as `avg_nll` does."""
        if self.final_eos is None:
            return self.mask
        last = self.num_tokens - 1  # (N,)
        pos = torch.arange(self.mask.shape[1])
        is_eos = (pos[None, :] == last[:, None]) & self.final_eos[:, None]  # (N, T)
        return self.mask & ~is_eos


@torch.no_grad()
def score_responses(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    prompt_texts: Sequence[str], responses: Sequence[str], max_length: int,
                    batch_size: int) -> ResponseScores:
    """Score `responses[i]` as the continuation of `prompt_texts[i]` (already formatted prompts).

    Right padding keeps every position id as in training, so a batched row scores exactly as
    the same row alone (up to float rounding).
    """
    if len(prompt_texts) != len(responses):
        raise ValueError(f"got {len(prompt_texts)} prompts but {len(responses)} responses")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    rows = [encode_pair(tokenizer, p, r, max_length) for p, r in zip(prompt_texts, responses)]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))  # less padding
    parts: list = [None] * len(rows)  # (logps, targets, preds) per row, response tokens only
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = {k: v.to(device) for k, v in pad_batch([rows[i] for i in idx],
                                                       tokenizer.pad_token_id).items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits, _ = shift_for_causal_lm(logits, batch["input_ids"])  # (B, L-1, V)
        labels = batch["labels"][:, 1:]  # (B, L-1)
        is_response = labels != IGNORE
        targets = labels.masked_fill(~is_response, tokenizer.pad_token_id)
        logps = token_logprobs(logits, targets)  # (B, L-1)
        preds = logits.argmax(dim=-1)  # (B, L-1)
        for b, i in enumerate(idx):
            keep = is_response[b]
            parts[i] = (logps[b, keep].float().cpu(), targets[b, keep].cpu(), preds[b, keep].cpu())
    model.train(was_training)
    # encode_pair appends EOS after the answer; a row cut by max_length lost it
    eos = tokenizer.eos_token_id
    final_eos = torch.tensor([eos is not None and r["labels"][-1:] == [eos] for r in rows],
                             dtype=torch.bool)
    return _stack(parts, tokenizer.pad_token_id, final_eos)


def _stack(parts: list[tuple[Tensor, Tensor, Tensor]], pad_id: int,
           final_eos: Tensor | None = None) -> ResponseScores:
    width = max((len(p[0]) for p in parts), default=0)
    n = len(parts)
    logps = torch.zeros(n, width)
    targets = torch.full((n, width), pad_id, dtype=torch.long)
    preds = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros(n, width, dtype=torch.bool)
    for i, (lp, t, p) in enumerate(parts):
        k = len(lp)
        logps[i, :k], targets[i, :k], preds[i, :k], mask[i, :k] = lp, t, p, True
    # masked sum in float64: one long answer of tiny log-probs should not lose digits
    avg_nll = -(logps.double() * mask).sum(dim=1) / mask.sum(dim=1)  # (N,); NaN for empty rows
    return ResponseScores(avg_nll, logps, mask, targets, preds, final_eos)
