"""Decode plans: static cache + compiled step on CUDA only; the CPU path under `auto` is today's."""

import pytest
import torch

from dareu.config import ModelConfig, load_config
from dareu.decoding import compileable, plan_decode
from dareu.errors import ConfigError
from dareu.generation import encode_prompts, generate
from dareu.models import build_tiny_model, train_tokenizer
from dareu.rl import response_mask
from dareu.sampling import sample

TEXTS = ["Question: who wrote the red book? Answer:", "Question: where? Answer:",
         "Question: when was the author of the blue garden born, and where? Answer:"]
CUDA, CPU = torch.device("cuda", 0), torch.device("cpu")


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 20 + ["the red blue garden book author born wrote"] * 20, 120)


@pytest.fixture(scope="module")
def model(tokenizer):
    return build_tiny_model(ModelConfig(arch="llama", n_layer=2, n_embd=32, n_head=2), tokenizer, 0).eval()


def test_generate_kwargs_per_device():
    fast = plan_decode("auto", CUDA).generate_kwargs()  # a device object: no GPU needed
    assert fast["cache_implementation"] == "static"
    assert fast["compile_config"].mode == "reduce-overhead" and "disable_compile" not in fast
    assert plan_decode("auto", CPU).generate_kwargs() == {}
    assert plan_decode("eager", CUDA).generate_kwargs() == {}
    assert plan_decode("static", CPU).generate_kwargs() == {"cache_implementation": "static",
                                                            "disable_compile": True}
    four_bit = plan_decode("auto", CUDA, False, "4-bit weights")
    assert four_bit.generate_kwargs() == {"cache_implementation": "static", "disable_compile": True}
    assert "4-bit weights" in four_bit.reason
    with pytest.raises(ValueError, match="fast"):
        plan_decode("fast", CPU)


def test_plain_model_is_compileable_and_4bit_falls_back_with_a_reason(model, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    from dareu.models import from_pretrained_4bit

    assert compileable(model) == (True, "")
    model.save_pretrained(tmp_path)
    four_bit = from_pretrained_4bit(AutoModelForCausalLM, tmp_path, "float32", "cpu")
    ok, why = compileable(four_bit)
    assert not ok and "Bnb4Bit" in why
    plan = plan_decode("auto", CUDA, ok, why)
    assert plan.static and not plan.compiled and "Bnb4Bit" in plan.reason


def test_qlora_policy_samples_through_the_static_cache(model, tokenizer, tmp_path):
    """A peft-wrapped 4-bit policy (model.mode=qlora) decodes on the static path too."""
    from dareu.modules.policy import Policy

    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    policy = Policy.from_pretrained(tmp_path, tokenizer, ModelConfig(arch="llama"), "qlora", "cpu")
    assert not compileable(policy.model)[0]
    enc = encode_prompts(tokenizer, TEXTS)
    runs = {}
    for decode in ("static", "eager"):
        torch.manual_seed(2)
        runs[decode] = sample(policy.model, enc["input_ids"], enc["attention_mask"], 2, 6,
                              tokenizer.eos_token_id, tokenizer.pad_token_id, decode=decode)
    assert runs["static"].shape[0] == 6 and torch.equal(runs["static"], runs["eager"])


def test_config_rejects_unknown_decode():
    assert load_config(None, ["unlearn.sampling.decode=static"]).unlearn.sampling.decode == "static"
    with pytest.raises(ConfigError, match="unlearn.sampling.decode"):
        load_config(None, ["unlearn.sampling.decode=graphs"])


def test_cpu_auto_is_eager_byte_for_byte(model, tokenizer):
    enc = encode_prompts(tokenizer, TEXTS)
    runs = {}
    for decode in ("auto", "eager"):
        torch.manual_seed(5)
        runs[decode] = sample(model, enc["input_ids"], enc["attention_mask"], 3, 10,
                              tokenizer.eos_token_id, tokenizer.pad_token_id, decode=decode)
    assert torch.equal(runs["auto"], runs["eager"])
    answers = {d: generate(model, tokenizer, TEXTS, 8, decode=d) for d in ("auto", "eager")}
    assert answers["auto"] == answers["eager"]


def test_static_cache_sampling_keeps_the_layout(model, tokenizer):
    """`static` on a CPU goes through generate's static cache (uncompiled): same output layout."""
    enc = encode_prompts(tokenizer, TEXTS)
    torch.manual_seed(5)
    seq = sample(model, enc["input_ids"], enc["attention_mask"], 3, 10, tokenizer.eos_token_id,
                 tokenizer.pad_token_id, decode="static")
    tp = enc["input_ids"].shape[1]
    assert seq.shape[0] == 9 and tp < seq.shape[1] <= tp + 10
    assert torch.equal(seq[:, :tp], enc["input_ids"].repeat_interleave(3, 0))
    resp = seq[:, tp:]
    mask = response_mask(resp, tokenizer.eos_token_id, tokenizer.pad_token_id)
    assert (resp[~mask] == tokenizer.pad_token_id).all()
    torch.manual_seed(5)
    eager = sample(model, enc["input_ids"], enc["attention_mask"], 3, 10, tokenizer.eos_token_id,
                   tokenizer.pad_token_id, decode="eager")
    assert torch.equal(seq, eager)  # same draws: the static cache changes the memory, not the math
    static_greedy = generate(model, tokenizer, TEXTS, 8, decode="static")
    assert static_greedy == generate(model, tokenizer, TEXTS, 8, decode="eager")


def test_fsdp2_sharded_model_is_not_compiled(tokenizer, tmp_path):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    from dareu.sharding import shard_model

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = build_tiny_model(ModelConfig(arch="llama", n_layer=1, n_embd=32, n_head=2), tokenizer, 0)
        shard_model(model, init_device_mesh("cpu", (1,)))
        ok, why = compileable(model)
        assert not ok and "FSDP2" in why
    finally:
        dist.destroy_process_group()
