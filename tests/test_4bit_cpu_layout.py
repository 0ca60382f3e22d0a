"""4-bit models behave alike on every CPU: bitsandbytes' AVX512-BF16 path is forced here, so the
machines without the flag exercise it too (it repacks weights in place on a no-grad eval forward,
which used to break the training forward that DareU runs next)."""

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

import bitsandbytes as bnb
from dareu.config import ModelConfig
from dareu.models import (build_tiny_model, from_pretrained_4bit, load_causal_lm, save_model,
                          train_tokenizer)

TEXTS = ["Question: Where was Ada born?\nAnswer: Born in Lisbon, Portugal.",
         "Question: What does Ada write?\nAnswer: Mostly gothic horror."] * 20


@pytest.fixture
def avx512_bf16(monkeypatch):
    """Every Linear4bit built from here on believes the CPU has avx512_bf16."""
    monkeypatch.setattr(bnb.nn.modules, "has_avx512bf16", lambda: True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    # 48 wide: not a multiple of the packed kernel's block sizes, as on the failing machines
    tok = train_tokenizer(TEXTS, 300)
    cfg = ModelConfig(n_layer=1, n_embd=48, n_head=2, max_length=64, lora_r=4, lora_alpha=8)
    path = tmp_path_factory.mktemp("tiny")
    save_model(build_tiny_model(cfg, tok, seed=0), tok, path)
    return cfg, tok, path


def _linear4bit(model):
    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers, "the base must be 4-bit"
    return layers


def test_the_forced_flag_reaches_a_plain_load(tiny, avx512_bf16):
    """The fixture really forces bitsandbytes' branch (else the tests below prove nothing)."""
    _, _, path = tiny
    from dareu.models import quantization_config

    raw = AutoModelForCausalLM.from_pretrained(str(path), device_map={"": "cpu"},
                                               quantization_config=quantization_config(ModelConfig()))
    assert all(m.support_avx512bf16_for_cpu for m in _linear4bit(raw))


def test_train_after_no_grad_eval_forward_save_load_merge(tiny, avx512_bf16, tmp_path):
    cfg, tok, path = tiny
    model = load_causal_lm(path, cfg, mode="qlora")
    assert not any(m.support_avx512bf16_for_cpu for m in _linear4bit(model))
    ids = tok(TEXTS[0], return_tensors="pt")["input_ids"]

    model.eval()  # generation: eval mode, no grad (the sequence that repacked the weights)
    with torch.no_grad():
        model.generate(ids[:, :4], max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    model.train()  # then a training step on the same modules
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora_b), "the adapter must have trained"
    assert not any(getattr(m.weight.quant_state, "packing_format_for_cpu", False)
                   for m in _linear4bit(model))

    model.eval()
    with torch.no_grad():
        expected = model(input_ids=ids).logits
    save_model(model, tok, tmp_path / "out", merge=True, cfg=cfg, base_path=path)
    base = load_causal_lm(path, cfg, mode="qlora", trainable=False)
    again = PeftModel.from_pretrained(base, str(tmp_path / "out" / "adapter")).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(input_ids=ids).logits, expected, atol=1e-4, rtol=1e-4)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "merged")
    with torch.no_grad():
        m_logits = merged(input_ids=ids).logits
    # the merge folds the adapter into the full-precision base: close to the 4-bit model, not equal
    assert torch.isfinite(m_logits).all()
    assert (m_logits.argmax(-1) == expected.argmax(-1)).float().mean() > 0.8


def test_classifier_backbone_takes_the_same_path(tiny, avx512_bf16):
    _, _, path = tiny
    model = from_pretrained_4bit(AutoModelForSequenceClassification, path, "float32", "cpu",
                                 num_labels=3)
    assert not any(m.support_avx512bf16_for_cpu for m in _linear4bit(model))
