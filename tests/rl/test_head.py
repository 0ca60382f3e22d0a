"""Chunked head log-probs / entropy / KL equal the plain path on full logits: values and gradients,
and no (M, V) tensor is kept for the backward."""

import pytest
import torch
from torch import nn

from dareu.rl import entropy_from_logits, token_full_kl, token_logprobs
from dareu.rl.head import chunk_rows, head_full_kl, head_logprobs

M, H, V = 23, 8, 50  # 23 tokens: chunks of 5 leave a remainder


def _head(seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(H, V, bias=True)


def _grads(*tensors) -> list[torch.Tensor]:
    return [t.grad.clone() for t in tensors]


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_logprobs_and_entropy_match_plain_path_with_gradients(temperature):
    head = _head(0)
    g = torch.Generator().manual_seed(1)
    hidden = torch.randn(3, M, H, generator=g, requires_grad=True)
    tokens = torch.randint(0, V, (3, M), generator=g)
    weight = torch.randn(3, M, generator=g)  # a loss that weighs each token differently

    logits = head(hidden)
    plain = token_logprobs(logits, tokens, temperature)
    (plain * weight).sum().backward()
    expected = _grads(hidden, head.weight, head.bias)
    hidden.grad, head.weight.grad, head.bias.grad = None, None, None

    logp, ent = head_logprobs(hidden, head, tokens, temperature, chunk=5, entropy=True)
    (logp * weight).sum().backward()
    torch.testing.assert_close(logp, plain.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ent, entropy_from_logits(logits.detach(), temperature), rtol=1e-5,
                               atol=1e-6)
    assert not ent.requires_grad
    for got, want in zip(_grads(hidden, head.weight, head.bias), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_full_kl_matches_plain_path_with_gradients_into_q_only():
    head_p, head_q = _head(0).requires_grad_(False), _head(1)
    g = torch.Generator().manual_seed(2)
    hp = torch.randn(M, H, generator=g)
    hq = torch.randn(M, H, generator=g, requires_grad=True)

    plain = token_full_kl(head_p(hp)[None], head_q(hq)[None], 0.9)[0]
    plain.sum().backward()
    expected = _grads(hq, head_q.weight)
    hq.grad, head_q.weight.grad = None, None

    kl = head_full_kl(hp, head_p, hq, head_q, 0.9, chunk=4)
    kl.sum().backward()
    torch.testing.assert_close(kl, plain.detach(), rtol=1e-5, atol=1e-6)
    for got, want in zip(_grads(hq, head_q.weight), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert head_full_kl(hq.detach(), head_q, hq.detach(), head_q).abs().max() < 1e-5  # KL(p‖p) = 0


def _largest_saved(fn) -> int:
    """numel of the largest tensor autograd saves for the backward while fn runs."""
    sizes = [0]

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return max(sizes)


def test_backward_keeps_no_vocabulary_wide_tensor():
    head = _head(0)
    hidden = torch.randn(M, H, requires_grad=True)
    tokens = torch.randint(0, V, (M,))
    plain = _largest_saved(lambda: token_logprobs(head(hidden)[None], tokens[None]))
    chunked = _largest_saved(lambda: head_logprobs(hidden, head, tokens, chunk=5))
    assert plain >= M * V  # the plain path keeps the whole (M, V) logits
    assert chunked < 5 * V  # the chunked one keeps no logits at all, only hidden-state chunks


def test_empty_rows_and_chunk_size():
    head = _head(0)
    assert head_logprobs(torch.zeros(2, 0, H), head, torch.zeros(2, 0, dtype=torch.long)).shape == (2, 0)
    assert head_full_kl(torch.zeros(0, H), head, torch.zeros(0, H), head).shape == (0,)
    assert chunk_rows(128_000) == 32 and chunk_rows(10**9) == 1
