"""Smoke tests of the `dareu bench` benchmarks at tiny sizes: they run and write complete results.

No timed assertions. TRL (pyarrow + pandas, ~270 MB) is in the `test` extra for
examples/trl_grpo_reward.py; in an environment without it the rl-step test still runs the DareU
sides (tests/test_examples.py then fails, saying what to install).
"""

from __future__ import annotations

import importlib.util
import json

from dareu.bench import bench_cli

TINY_RL = ["--reps", "1", "--steps", "1", "--prompts", "2", "--group", "2", "--new-tokens", "4",
           "--n-layer", "1", "--n-embd", "32", "--n-head", "2", "--vocab", "300"]


def _positive(d, path=""):
    for k, v in d.items():
        if isinstance(v, dict):
            _positive(v, f"{path}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("min",):
            assert v >= 0, f"{path}{k}={v}"


def test_rl_step(tmp_path):
    # the TRL side joins when the bench extra is installed; the DareU sides always run
    sides = "trl,grpo,ppo" if importlib.util.find_spec("trl") is not None else "grpo,ppo"
    out = tmp_path / "results"
    assert bench_cli("rl-step", TINY_RL + ["--sides", sides, "--attributors", "classifier",
                                           "--out", str(out), "--work", str(tmp_path / "w")]) == 0
    r = json.loads((out / "rl-step.json").read_text())
    assert {"machine", "config", "sides", "bound", "profile", "reward_cost"} <= set(r)
    assert {"cpu_count", "torch", "date"} <= set(r["machine"])
    for side in sides.split(","):
        for key in ("step_s", "tokens_per_s", "tokens_per_step"):
            assert r["sides"][side][key]["median"] > 0
    if "trl" in sides:
        assert r["sides"]["grpo"]["ratio_step_vs_trl"] > 0
    assert r["bound"]["generate_s"]["median"] > 0 and r["bound"]["fwd_bwd_s"]["median"] > 0
    assert r["bound"]["efficiency_grpo"] > 0
    assert r["profile"]["step_s"] > 0 and r["profile"]["breakdown_s"]
    assert r["reward_cost"]["classifier"]["score_s"]["median"] > 0
    _positive(r)


def test_memory(tmp_path):
    out = tmp_path / "results"
    assert bench_cli("memory", ["--reps", "1", "--n-layer", "1", "--n-embd", "64", "--n-head", "2",
                                "--vocab", "300", "--batch", "1", "--seq", "8", "--out", str(out)]) == 0
    r = json.loads((out / "memory.json").read_text())
    assert set(r["modes"]) == {"full", "lora", "qlora"}
    for v in r["modes"].values():
        assert v["weight_bytes"] > 0 and v["trainable_params"] > 0 and v["peak_mb"]["median"] >= 0
    assert r["modes"]["qlora"]["weight_bytes"] < r["modes"]["full"]["weight_bytes"]


def test_gpu_script_tiny_on_cpu(tmp_path, capsys):
    out = tmp_path / "results"
    assert bench_cli("gpu", ["--tiny", "--device", "cpu", "--steps", "1", "--prompts", "2", "--group", "2",
                             "--new-tokens", "4", "--out", str(out), "--work", str(tmp_path / "w")]) == 0
    r = json.loads((out / "gpu-tiny.json").read_text())
    assert set(r["modes"]) == {"qlora", "lora"}
    for v in r["modes"].values():
        assert v["tokens_per_s"] > 0 and v["step_s"] > 0 and v["params"] > 0
        assert "decode" not in v  # the decoding comparison is CUDA-only ...
    assert "eager vs static/compiled: skipped" in capsys.readouterr().out  # ... and says so
    assert len(r["extrapolation"]) == 4


def test_rl_step_policy_vocab_is_padded_to_the_requested_size(tmp_path):
    """--vocab larger than the corpus tokenizer pads the embedding and head: the logits are V wide."""
    import torch
    from transformers import AutoModelForCausalLM

    from dareu.bench.common import save_tiny_policy, tiny_overrides, tiny_run

    run, tok = tiny_run(tiny_overrides(tmp_path, prompts=2, group=2, new_tokens=4, n_layer=1,
                                       n_embd=16, n_head=2, vocab=5000, lr=1e-5, beta=0.05))
    model = AutoModelForCausalLM.from_pretrained(save_tiny_policy(run, tok, tmp_path / "p", vocab=5000))
    assert len(tok) < 5000 == model.config.vocab_size
    assert model(input_ids=torch.tensor([[1, 2]])).logits.shape[-1] == 5000


def test_decode_speed_times_both_paths_on_one_policy():
    """The GPU bench's decoding timer, on a CPU: `static` runs generate's static cache, uncompiled."""
    from dareu.bench.dareu_steps import decode_speed
    from dareu.config import ModelConfig
    from dareu.models import build_tiny_model, train_tokenizer

    texts = ["Question: who wrote the red book? Answer:", "Question: where? Answer:"]
    tok = train_tokenizer(texts * 20, 100)
    model = build_tiny_model(ModelConfig(arch="llama", n_layer=1, n_embd=32, n_head=2), tok, 0)
    speed = {d: decode_speed(model, tok, texts, 2, 6, d, reps=1) for d in ("eager", "static")}
    assert not speed["eager"]["static"] and speed["static"]["static"] and not speed["static"]["compiled"]
    assert all(s["tokens_per_s"] > 0 and s["warmup_s"] > 0 for s in speed.values())


def test_qlora_7b_bench_runs_its_code_at_a_tiny_shape_on_cpu(tmp_path, capsys):
    """The 7B bench's own path (random Llama built, saved, loaded 4-bit, DareU grpo steps) at 2 × 64."""
    out = tmp_path / "results"
    assert bench_cli("qlora-7b", ["--shape", "tiny", "--device", "cpu", "--steps", "1", "--prompts", "2",
                                  "--group", "2", "--new-tokens", "4", "--out", str(out)]) == 0
    r = json.loads((out / "qlora-tiny.json").read_text())
    c = r["config"]
    assert (c["num_hidden_layers"], c["hidden_size"], c["gradient_checkpointing"]) == (2, 64, True)
    assert r["nf4_matrices"] == 7 * 2  # q, k, v, o, gate, up, down of both layers: loaded in 4 bits
    assert r["step_s"] > 0 and r["tokens_per_s"] > 0 and r["peak_gpu_gib"] is None
    assert "random-init Llama (tiny" in capsys.readouterr().out


def test_qlora_7b_refuses_a_cpu_clearly(capsys):
    """No GPU: one error paragraph and exit code 2 (the CLI's DareUError path: no traceback)."""
    from dareu.cli import main

    assert main(["bench", "qlora-7b", "--shape", "7b", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "--shape tiny" in err and "Traceback" not in err
