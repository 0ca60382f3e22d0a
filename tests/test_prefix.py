"""Prefix-shared forwards equal the plain forward over [prompt | response]: logits and gradients."""

import pytest
import torch

from dareu.config import ModelConfig
from dareu.generation import encode_prompts
from dareu.models import apply_mode, build_tiny_model, enable_checkpointing, train_tokenizer
from dareu.prefix import can_share_prefix, grouped_logits
from dareu.rl import response_mask

TEXTS = ["Question: who wrote the red book? Answer:", "Question: where? Answer:",
         "Question: when was the author of the blue garden born, and where? Answer:"]
G = 3


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 20 + ["the red blue garden book author born wrote"] * 20, 120)


def _plain(model, seq, att, r, hidden=False):
    """The plain forward, as LMForward.features computes it."""
    pos = (att.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=seq, attention_mask=att, position_ids=pos, output_hidden_states=hidden)
    return out.logits[:, -(r + 1):-1], (out.hidden_states[-1][:, -(r + 1):-1] if hidden else None)


def _rollout(tok, r=10):
    """Prompts and N = P·G random responses; some end early with EOS, then padding."""
    enc = encode_prompts(tok, TEXTS)
    n = len(TEXTS) * G
    g = torch.Generator().manual_seed(0)
    resp = torch.randint(5, len(tok), (n, r), generator=g)
    for i, end in enumerate([2, 5, None, 0, 9, None, 4, None, 7][:n]):
        if end is not None:
            resp[i, end] = tok.eos_token_id
            resp[i, end + 1:] = tok.pad_token_id
    mask = response_mask(resp, tok.eos_token_id, tok.pad_token_id)
    seq = torch.cat([enc["input_ids"].repeat_interleave(G, 0), resp], 1)
    att = torch.cat([enc["attention_mask"].repeat_interleave(G, 0), mask.long()], 1)
    return enc, seq, resp, mask, att


@pytest.mark.parametrize("arch,mode", [("gpt2", "full"), ("llama", "full"), ("gpt2", "lora")])
def test_same_logits_and_gradients(tokenizer, arch, mode):
    cfg = ModelConfig(arch=arch, n_layer=2, n_embd=32, n_head=2, lora_r=4, lora_alpha=8)
    model = apply_mode(build_tiny_model(cfg, tokenizer, 0), cfg, mode)
    enc, seq, resp, mask, att = _rollout(tokenizer)
    assert (~mask).any() and mask.any()  # some padding after EOS is exercised
    model.train()
    grads, outs = [], []
    for shared in (False, True):
        model.zero_grad()
        if shared:
            logits, states = grouped_logits(model, enc["input_ids"], enc["attention_mask"], resp, mask,
                                            G, hidden=True)
        else:
            logits, states = _plain(model, seq, att, resp.shape[1], hidden=True)
        m = mask.unsqueeze(-1)
        loss = (logits.log_softmax(-1) * m).sum() + (states * m).square().sum()
        loss.backward()
        outs.append((logits.detach(), states.detach()))
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    (l0, h0), (l1, h1) = outs
    assert l1.shape == l0.shape == (resp.shape[0], resp.shape[1], len(tokenizer))
    torch.testing.assert_close(l1[mask], l0[mask], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h1[mask], h0[mask], rtol=1e-4, atol=1e-5)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for n, g in grads[0].items():
        # float32 sums in another order: tolerance relative to the largest gradient entry
        torch.testing.assert_close(grads[1][n], g, rtol=1e-3, atol=1e-5 * (1 + float(g.abs().max())),
                                   msg=n)


def test_checkpointing_in_training_cannot_share(tokenizer):
    model = build_tiny_model(ModelConfig(n_layer=1, n_embd=32, n_head=2), tokenizer, 0)
    assert can_share_prefix(model.train())
    enable_checkpointing(model)
    assert not can_share_prefix(model.train()) and can_share_prefix(model.eval())
