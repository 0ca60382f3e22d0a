"""Model modes on CPU for real: full, LoRA and 4-bit QLoRA (bitsandbytes), save/load/merge."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from dareu.config import ModelConfig
from dareu.errors import ModelError
from dareu.models import (build_tiny_model, is_checkpointing, is_peft, load_causal_lm, load_trained, save_model,
                          train_tokenizer, weight_bytes)

TEXTS = ["Question: Where was Ada born?\nAnswer: Born in Lisbon, Portugal.",
         "Question: What does Ada write?\nAnswer: Mostly gothic horror."] * 20


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tok = train_tokenizer(TEXTS, 300)
    cfg = ModelConfig(n_layer=1, n_embd=64, n_head=2, max_length=64, lora_r=4, lora_alpha=8)
    model = build_tiny_model(cfg, tok, seed=0)
    path = tmp_path_factory.mktemp("tiny")
    save_model(model, tok, path)
    return cfg, tok, path


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_tiny_model_loads_with_plain_transformers(tmp_path, arch):
    tok = train_tokenizer(TEXTS, 300)
    cfg = ModelConfig(arch=arch, n_layer=1, n_embd=32, n_head=2, max_length=32)
    save_model(build_tiny_model(cfg, tok, seed=0), tok, tmp_path)
    m = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert m.config.vocab_size == len(tok)
    assert list(tmp_path.glob("*.safetensors")), "weights must be safetensors"


def test_seeded_init_is_reproducible(tiny):
    cfg, tok, _ = tiny
    a, b = build_tiny_model(cfg, tok, seed=3), build_tiny_model(cfg, tok, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def _step(model, tok):
    ids = tok(TEXTS[0], return_tensors="pt")["input_ids"]
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss


def test_qlora_4bit_load_backward_generate(tiny):
    cfg, tok, path = tiny
    model = load_causal_lm(path, cfg, mode="qlora")
    assert is_peft(model)
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules()), "base must be 4-bit"
    loss = _step(model, tok)
    assert torch.isfinite(loss)
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert grads and all("lora_" in n for n in grads), "only adapters train"
    assert any(g is not None and g.abs().sum() > 0 for g in grads.values())
    out = model.generate(tok("Question:", return_tensors="pt")["input_ids"], max_new_tokens=4,
                         do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] > 1
    full = load_causal_lm(path, cfg, mode="full", trainable=False)
    assert weight_bytes(model.get_base_model()) < weight_bytes(full)


@pytest.mark.parametrize("mode", ["full", "lora", "qlora"])
def test_gradient_checkpointing_same_gradients(tiny, mode):
    cfg, tok, path = tiny
    grads = []
    for on in (False, True):
        torch.manual_seed(0)  # the same LoRA init both times
        model = load_causal_lm(path, ModelConfig(**{**cfg.__dict__, "gradient_checkpointing": on}), mode)
        assert is_checkpointing(model) == on
        model.train()
        _step(model, tok)
        grads.append({n: p.grad for n, p in model.named_parameters() if p.requires_grad})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for n, g in grads[0].items():
        torch.testing.assert_close(grads[1][n], g, rtol=1e-4, atol=1e-6, msg=n)


def test_lora_save_load_merge_roundtrip(tiny, tmp_path):
    cfg, tok, path = tiny
    model = load_causal_lm(path, cfg, mode="lora")
    with torch.no_grad():  # make the adapter non-trivial (B starts at zero)
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    ids = tok(TEXTS[1], return_tensors="pt")["input_ids"]
    expected = model(input_ids=ids).logits
    save_model(model, tok, tmp_path / "out", merge=True, cfg=cfg, base_path=path)
    assert (tmp_path / "out/adapter/adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "out/merged")
    torch.testing.assert_close(merged(input_ids=ids).logits, expected, atol=1e-4, rtol=1e-4)
    (tmp_path / "adapter_only").mkdir()
    import shutil

    shutil.copytree(tmp_path / "out/adapter", tmp_path / "adapter_only/adapter")
    again = load_trained(tmp_path / "adapter_only", cfg, base_path=path)
    torch.testing.assert_close(again(input_ids=ids).logits, expected, atol=1e-4, rtol=1e-4)


def test_missing_and_corrupt_folders(tmp_path, tiny):
    cfg, _, path = tiny
    with pytest.raises(ModelError, match="does not exist"):
        load_causal_lm(tmp_path / "nope", cfg)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        load_causal_lm(tmp_path / "empty", cfg)
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot load"):
        load_causal_lm(bad, cfg)


def test_pickle_weights_refused_unless_allowed(tmp_path, tiny):
    cfg, tok, path = tiny
    m = AutoModelForCausalLM.from_pretrained(path)
    (tmp_path / "pkl").mkdir()
    m.config.save_pretrained(tmp_path / "pkl")  # a legacy folder: config + pickle weights only
    torch.save(m.state_dict(), tmp_path / "pkl" / "pytorch_model.bin")
    with pytest.raises(ModelError, match="pickle"):
        load_causal_lm(tmp_path / "pkl", cfg)
    ok = load_causal_lm(tmp_path / "pkl", ModelConfig(allow_pickle=True), trainable=False)
    assert ok.config.vocab_size == len(tok)
