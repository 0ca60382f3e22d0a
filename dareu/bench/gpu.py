"""`dareu bench gpu`: DareU QLoRA and bf16 LoRA steps on a random-init ~1B Llama, offline.

Builds a Llama-style model from a config only (TinyLlama shape: 22 layers × 2048, GQA 32/4 heads,
MLP 5632; no download), saves it, then for each mode runs a few DareU grpo steps (Lightning
Trainer, the run's tiny synthetic corpus and a tiny classifier reward fitted in process) and prints
generated tokens/s and peak GPU memory; on CUDA it then times the rollout sampler alone under
`unlearn.sampling.decode=eager` and `static` (static KV cache, compiled decode step) on the same policy,
prompts, G and length; plus an extrapolation to 7B/8B shapes (weight memory scaled
by parameter count; tokens/s scaled inversely by parameter count — a rough, memory-bound estimate).

`--tiny` (implied when there is no CUDA) runs the same path on CPU with a tiny config: the smoke test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from dareu.bench.common import classifier_reward, table, tiny_overrides, tiny_run, write_result
from dareu.bench.dareu_steps import decode_speed, measure_dareu_steps

SHAPES = {"llama-7b": 6.74e9, "llama3-8b": 8.03e9}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench gpu", description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny config (CPU smoke test)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--modes", default="qlora,lora")
    p.add_argument("--decode-reps", type=int, default=3,
                   help="timed sampler calls per decoding path (CUDA: eager vs static/compiled)")
    p.add_argument("--work", default=None)
    p.add_argument("--out", default=None)
    return p


def _llama(tok, tiny: bool):
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = (dict(hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2) if tiny else
             dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                  num_attention_heads=32, num_key_value_heads=4))
    conf = LlamaConfig(vocab_size=len(tok), max_position_embeddings=512, tie_word_embeddings=False,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, **shape)
    torch.manual_seed(0)
    return LlamaForCausalLM(conf)


def main(argv: list[str]) -> int:
    from dareu.data.formatting import format_prompt

    a = _parser().parse_args(argv)
    cuda = torch.cuda.is_available() and a.device != "cpu"
    tiny = a.tiny or not cuda
    if tiny and not a.tiny:
        print("[gpu] no CUDA: running the tiny CPU config", file=sys.stderr)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="dareu-bench-gpu-"))
    hw = ["trainer.accelerator=gpu", "trainer.precision=bf16-mixed"] if cuda else []
    results: dict = {}
    for mode in [m for m in a.modes.split(",") if m]:
        dtype = "bfloat16" if cuda else "float32"
        extra = [*hw, f"model.dtype={dtype}", "model.max_length=512", "model.lora_r=16",
                 "model.lora_alpha=32"]
        run, tok = tiny_run(tiny_overrides(work, prompts=a.prompts, group=a.group, new_tokens=a.new_tokens,
                                           n_layer=2, n_embd=64, n_head=4, vocab=2000, lr=1e-4, beta=0.05,
                                           mode=mode, arch="llama", extra=extra))
        path = work / "model"
        if not (path / "config.json").is_file():
            model = _llama(tok, tiny)
            model.to(torch.bfloat16 if cuda else torch.float32).save_pretrained(path)
            tok.save_pretrained(path)
            del model
        with torch.device("meta"):  # parameter count of the unquantised shape
            params = sum(p.numel() for p in _llama(tok, tiny).parameters())
        reward = classifier_reward(run, tok)
        device = torch.device("cuda", 0) if cuda else torch.device("cpu")
        r, policy = measure_dareu_steps(run, tok, reward, path, mode, device, a.steps, work)
        results[mode] = {"params": params, **r}
        if cuda:  # same policy, prompts, G and length: only the decoding path differs
            prompts = [format_prompt(rec.prompt, tok, run.cfg.data.template)
                       for rec in run.corpus.forget[:a.prompts]]
            results[mode]["decode"] = {d: decode_speed(policy.model, tok, prompts, a.group, a.new_tokens, d,
                                                       a.decode_reps) for d in ("eager", "static")}
        del policy
    extrap = {}
    for mode, r in results.items():
        for shape, n in SHAPES.items():
            k = n / r["params"]
            extrap[f"{mode} {shape}"] = {"weight_gb": r["weight_bytes"] * k / 2**30,
                                         "tokens_per_s": r["tokens_per_s"] / k}
    out = {"config": {"tiny": tiny, "device": torch.cuda.get_device_name(0) if cuda else "cpu",
                      "prompts": a.prompts, "group": a.group, "max_new_tokens": a.new_tokens,
                      "steps": a.steps, "precision": "bf16-mixed" if cuda else "32-true"},
           "modes": results, "extrapolation": extrap}
    path = write_result("gpu-tiny" if tiny else "gpu", out, a.out)
    print(f"DareU grpo on a random-init Llama ({'tiny, CPU' if tiny else out['config']['device']}), "
          f"{a.prompts}×G={a.group}, ≤{a.new_tokens} new tokens, mean of {a.steps} steps after 1 warm-up\n")
    print(table(["mode", "params", "weights MiB", "s/step", "tokens/s", "peak GPU MiB", "peak RSS MiB"],
                [[m, f"{r['params']:,}", f"{r['weight_bytes'] / 2**20:.1f}", f"{r['step_s']:.3f}",
                  f"{r['tokens_per_s']:.1f}", f"{r['peak_gpu_mb']:.0f}" if r["peak_gpu_mb"] else "—",
                  f"{r['peak_rss_increase_mb']:.0f}"] for m, r in results.items()]))
    if cuda:
        print(f"\nRollout decoding, {a.prompts}×G={a.group}, ≤{a.new_tokens} new tokens, mean of "
              f"{a.decode_reps} calls after 1 warm-up (unlearn.sampling.decode):\n")
        print(table(["mode", "eager tok/s", "static tok/s", "speed-up", "static warm-up s", "static path"],
                    [[m, f"{d['eager']['tokens_per_s']:.0f}", f"{d['static']['tokens_per_s']:.0f}",
                      f"{d['static']['tokens_per_s'] / d['eager']['tokens_per_s']:.2f}×",
                      f"{d['static']['warmup_s']:.1f}", d["static"]["plan"]]
                     for m, d in ((m, r["decode"]) for m, r in results.items())]))
    else:
        print("\nRollout decoding, eager vs static/compiled: skipped (the static KV cache and the "
              "compiled decode step are CUDA-only; on a CPU `unlearn.sampling.decode=auto` decodes eagerly).")
    print("\nExtrapolation (weights ∝ params, tokens/s ∝ 1/params):\n")
    print(table(["mode / shape", "weights GiB", "tokens/s"],
                [[k, f"{v['weight_gb']:.2f}", f"{v['tokens_per_s']:.2f}"] for k, v in extrap.items()]))
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
