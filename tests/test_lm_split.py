"""LMSplit: a model is split into body and head only when head(body(x)) is its logits."""

import pytest
import torch
from transformers import GPT2LMHeadModel

from dareu.config import ModelConfig
from dareu.lm_split import LMSplit
from dareu.models import apply_mode, build_tiny_model, train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(["the red book was written by the author of the blue garden"] * 20, 120)


def _model(tokenizer, arch="gpt2", mode="full", **cfg):
    c = ModelConfig(arch=arch, n_layer=1, n_embd=16, n_head=2, lora_r=2, lora_alpha=4, **cfg)
    return apply_mode(build_tiny_model(c, tokenizer, 0), c, mode)


@pytest.mark.parametrize("arch,mode", [("gpt2", "full"), ("llama", "full"), ("gpt2", "lora")])
def test_split_reproduces_the_logits(tokenizer, arch, mode):
    model = _model(tokenizer, arch, mode)
    split = LMSplit.of(model)
    assert split.exact
    body, head = split(model)
    ids = torch.tensor([[3, 4, 5, 6]])
    torch.testing.assert_close(head(body(input_ids=ids).last_hidden_state), model(input_ids=ids).logits)


class _ScaledLogits(GPT2LMHeadModel):
    """Logits post-processed after the head (as soft-capping or a logit scale would)."""

    def forward(self, *args, **kw):
        out = super().forward(*args, **kw)
        out.logits = out.logits * 2
        return out


def test_post_processed_logits_or_an_adapter_on_the_head_take_the_plain_path(tokenizer):
    scaled = _ScaledLogits(_model(tokenizer).config)
    assert not LMSplit.of(scaled).exact
    lora_head = _model(tokenizer, mode="lora", lora_target_modules=["c_attn", "lm_head"])
    assert not LMSplit.of(lora_head).exact
    body, head = LMSplit(exact=False)(scaled)  # the plain path: the whole model, no head
    assert body is scaled and head(torch.ones(2)).equal(torch.ones(2))
