"""Log-probs, entropies and exact KL from last hidden states, the LM head applied a chunk at a time.

The plain path holds the logits of every token, (N, T, V) in float32, and autograd keeps another
(N, T, V) for the log-softmax backward: at V = 128k that is gigabytes per forward. Here the head
runs on `chunk` tokens at a time and, when gradients are needed, each chunk is checkpointed: the
backward recomputes that chunk's logits instead of keeping them. Peak memory for the vocabulary
axis is a few chunk × V buffers whatever N and T are. Values and gradients are those of the plain
path (`token_logprobs`, `token_full_kl` on `head(hidden)`), to float tolerance (tested).

`head` is any callable (..., H) → (..., V); the identity turns these functions into chunked
versions of the plain ones on logits (used when a model cannot be split into body and head).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

Head = Callable[[Tensor], Tensor]

CHUNK_ELEMENTS = 2**22
"""Logit elements per chunk (16 MB in float32): rows per chunk = CHUNK_ELEMENTS // V."""


def chunk_rows(vocab_size: int, elements: int = CHUNK_ELEMENTS) -> int:
    """Tokens per chunk so that one chunk's logits hold about `elements` values."""
    return max(1, elements // max(1, vocab_size))


def _scaled(head: Head, h: Tensor, temperature: float) -> Tensor:
    z = head(h).float()  # (c, V); half-precision heads are upcast one chunk at a time
    return z / temperature if temperature != 1.0 else z


def _map_chunks(fn: Callable[..., tuple[Tensor, ...]], chunk: int, *rows: Tensor) -> list[Tensor]:
    """fn over aligned row chunks of `rows`, outputs concatenated; checkpointed when autograd is on
    and an input (or a parameter fn closes over) needs gradients."""
    grad = torch.is_grad_enabled()
    parts = []
    for i in range(0, rows[0].shape[0], chunk):
        args = [r[i:i + chunk] for r in rows]
        parts.append(checkpoint(fn, *args, use_reentrant=False) if grad else fn(*args))
    return [torch.cat(p) for p in zip(*parts)]


def head_logprobs(hidden: Tensor, head: Head, tokens: Tensor, temperature: float = 1.0,
                  chunk: int = 256, entropy: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """log p(tokens) under softmax(head(hidden) / temperature), float32, shaped like `tokens`.

    hidden (..., H) already aligned with tokens (...) (the state that predicts each token).
    entropy=True also returns the entropy of each position's distribution (no gradient).
    """
    lead = tokens.shape
    h, tok = hidden.reshape(-1, hidden.shape[-1]), tokens.reshape(-1)  # (M, H), (M,)

    def f(hc: Tensor, tc: Tensor) -> tuple[Tensor, ...]:
        z = _scaled(head, hc, temperature)  # (c, V)
        lse = torch.logsumexp(z, -1)  # (c,)
        logp = z.gather(-1, tc[:, None]).squeeze(-1) - lse  # (c,)
        if not entropy:
            return (logp,)
        with torch.no_grad():
            ent = lse - (torch.softmax(z, -1) * z).sum(-1)  # H = lse - Σ p z
        return logp, ent

    if h.shape[0] == 0:
        empty = hidden.new_zeros(lead, dtype=torch.float32)
        return (empty, empty.clone()) if entropy else empty
    out = [x.reshape(lead) for x in _map_chunks(f, chunk, h, tok)]
    return (out[0], out[1]) if entropy else out[0]


def head_full_kl(hidden_p: Tensor, head_p: Head, hidden_q: Tensor, head_q: Head,
                 temperature: float = 1.0, chunk: int = 256) -> Tensor:
    """Exact KL(p ‖ q) over the vocabulary per row, p = softmax(head_p(hidden_p) / T), q likewise.

    hidden_p (M, Hp), hidden_q (M, Hq) → (M,) float32. For retain distillation p is the reference
    (no gradient) and q the policy.
    """

    def f(hp: Tensor, hq: Tensor) -> tuple[Tensor]:
        lp = torch.log_softmax(_scaled(head_p, hp, temperature), -1)  # (c, V)
        lq = torch.log_softmax(_scaled(head_q, hq, temperature), -1)  # (c, V)
        return ((lp.exp() * (lp - lq)).sum(-1),)

    if hidden_q.shape[0] == 0:
        return hidden_q.new_zeros(0, dtype=torch.float32)
    return _map_chunks(f, chunk, hidden_p, hidden_q)[0]
