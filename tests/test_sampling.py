"""The rollout sampler draws what `generate(num_return_sequences=G)` draws, with one prefill per prompt."""

import pytest
import torch

from dareu.config import ModelConfig
from dareu.generation import encode_prompts
from dareu.models import build_tiny_model, train_tokenizer
from dareu.rl import response_mask
from dareu.sampling import sample, top_p_filter

TEXTS = ["Question: who wrote the red book? Answer:", "Question: where? Answer:",
         "Question: when was the author of the blue garden born, and where? Answer:"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 20 + ["the red blue garden book author born wrote"] * 20, 120)


def _hf(model, tok, enc, G, new, **kw):
    return model.generate(**enc, do_sample=True, top_k=0, max_new_tokens=new, num_return_sequences=G,
                          use_cache=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                          **kw)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_same_draws_as_generate(tokenizer, arch):
    model = build_tiny_model(ModelConfig(arch=arch, n_layer=2, n_embd=32, n_head=2), tokenizer, 0).eval()
    enc = encode_prompts(tokenizer, TEXTS)
    torch.manual_seed(3)
    ref = _hf(model, tokenizer, enc, 4, 12, temperature=1.0, top_p=1.0)
    torch.manual_seed(3)
    ours = sample(model, enc["input_ids"], enc["attention_mask"], 4, 12, tokenizer.eos_token_id,
                  tokenizer.pad_token_id)
    assert ours.shape[0] == 12
    assert torch.equal(ours, ref)


def test_rows_stop_at_eos_and_pad_after(tokenizer):
    model = build_tiny_model(ModelConfig(n_layer=1, n_embd=32, n_head=2), tokenizer, 1).eval()
    with torch.no_grad():  # final bias along the EOS row: +4 on its logit, rows end at different steps
        w = model.lm_head.weight[tokenizer.eos_token_id]
        model.transformer.ln_f.bias.copy_(w / w.square().sum() * 4)
    enc = encode_prompts(tokenizer, TEXTS)
    for check_every in (1, 5):
        torch.manual_seed(0)
        seq = sample(model, enc["input_ids"], enc["attention_mask"], 3, 20, tokenizer.eos_token_id,
                     tokenizer.pad_token_id, check_every=check_every)
        resp = seq[:, enc["input_ids"].shape[1]:]
        mask = response_mask(resp, tokenizer.eos_token_id, tokenizer.pad_token_id)
        assert (resp[~mask] == tokenizer.pad_token_id).all()  # padding only after each row's EOS
        assert torch.equal(seq[:, :enc["input_ids"].shape[1]], enc["input_ids"].repeat_interleave(3, 0))
        if check_every == 1:
            first, lengths = seq, mask.sum(1)
            assert seq.shape[1] < enc["input_ids"].shape[1] + 20  # stopped early: all rows done
            assert lengths.min() < lengths.max()  # ... at different steps
        else:  # the coarser finished-check only trims differently, the draws are the same
            n = min(first.shape[1], seq.shape[1])
            assert torch.equal(first[:, :n], seq[:, :n])
            assert (seq[:, n:] == tokenizer.pad_token_id).all() and (first[:, n:] == tokenizer.pad_token_id).all()


def test_top_p_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_filter(logits, 0.7))
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 < 0.7 ≤ 0.8
    assert torch.isfinite(top_p_filter(logits, 1.0)).all()
    shuffled = logits[:, [2, 0, 3, 1]]
    assert torch.isfinite(top_p_filter(shuffled, 0.7)).tolist() == [[False, True, False, True]]


def test_top_p_matches_generate(tokenizer):
    model = build_tiny_model(ModelConfig(n_layer=1, n_embd=32, n_head=2), tokenizer, 2).eval()
    enc = encode_prompts(tokenizer, TEXTS)
    torch.manual_seed(5)
    ref = _hf(model, tokenizer, enc, 2, 10, temperature=0.7, top_p=0.9)
    torch.manual_seed(5)
    ours = sample(model, enc["input_ids"], enc["attention_mask"], 2, 10, tokenizer.eos_token_id,
                  tokenizer.pad_token_id, temperature=0.7, top_p=0.9)
    assert torch.equal(ours, ref)
