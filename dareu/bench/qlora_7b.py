"""`dareu bench qlora-7b`: DareU grpo QLoRA steps on a random-init Llama-2-7B shape, offline.

The shape (`--shape 7b`: hidden 4096, 32 layers, 32 heads, MLP 11008, vocab 32000; 6.7B params) is
built from a config only, no download: initialised directly on the GPU in bf16 (13.5 GB; an fp32
init on the host would need 27 GB), saved as safetensors, then loaded back through the policy's own
QLoRA path (nf4 + LoRA adapters, as `model.mode=qlora` loads any model). It then runs DareU grpo
(default 8 prompts × G 4, ≤ 128 new tokens, gradient checkpointing on) for a warm-up step and
`--steps` timed steps, and prints step time, generated tokens/s and peak GPU memory against the
20 GiB goal (a 24 GB card with headroom).

`--shape 7b` needs CUDA. `--shape tiny` (2 layers × 64) runs the same code on any device: on a
CPU it goes through bitsandbytes' CPU 4-bit kernels (the test of this bench).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from dareu.bench.common import classifier_reward, table, tiny_overrides, tiny_run, write_result
from dareu.bench.dareu_steps import measure_dareu_steps
from dareu.errors import EnvironmentProblem

SHAPES = {
    "tiny": dict(hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4, vocab_size=4096),
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, vocab_size=32000),  # Llama-2-7B
}
GOAL_GIB = 20.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench qlora-7b", description=__doc__.splitlines()[0])
    p.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--steps", type=int, default=2, help="timed steps after one warm-up step")
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--no-gradient-checkpointing", action="store_true",
                   help="keep every layer's activations for the backward (more memory)")
    p.add_argument("--work", default=None, help="folder for the saved random model (default: a "
                                                "temporary folder, deleted afterwards)")
    p.add_argument("--out", default=None)
    return p


def save_random_llama(tok, shape: str, path: Path, device: torch.device, dtype: torch.dtype,
                      seed: int = 0) -> int:
    """Build the random-init Llama of `shape` on `device` in `dtype`, save it (safetensors) with the
    tokenizer, free it; returns its parameter count. The vocabulary is padded past the tokenizer's
    (sampled ids beyond it decode to ''), so the logits are really `vocab_size` wide."""
    from transformers import LlamaConfig, LlamaForCausalLM

    conf = LlamaConfig(**{**SHAPES[shape], "vocab_size": max(SHAPES[shape]["vocab_size"], len(tok))},
                       max_position_embeddings=4096, tie_word_embeddings=False,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    with torch.device(device):  # initialised where it is built: no host copy of the full weights
        model = LlamaForCausalLM._from_config(conf, dtype=dtype)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(path)
    tok.save_pretrained(path)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return params


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    cuda = torch.cuda.is_available() and a.device != "cpu"
    if a.shape == "7b" and not cuda:
        raise EnvironmentProblem(
            "dareu bench qlora-7b --shape 7b needs a CUDA GPU (the 7B-shaped model is built and "
            "trained on the GPU; no CUDA device is available here). Run `dareu bench qlora-7b "
            "--shape tiny` for the same code path at a tiny shape.")
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    dtype = "bfloat16" if cuda else "float32"
    hw = ["trainer.accelerator=gpu", "trainer.precision=bf16-mixed"] if cuda else []
    ckpt = not a.no_gradient_checkpointing
    owned = a.work is None
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="dareu-bench-qlora7b-"))
    try:
        run, tok = tiny_run(tiny_overrides(
            work, prompts=a.prompts, group=a.group, new_tokens=a.new_tokens, n_layer=2, n_embd=64,
            n_head=4, vocab=2000, lr=1e-4, beta=0.05, mode="qlora", arch="llama",
            extra=[*hw, f"model.dtype={dtype}", "model.max_length=512", "model.lora_r=16",
                   "model.lora_alpha=32", f"model.gradient_checkpointing={str(ckpt).lower()}"]))
        reward = classifier_reward(run, tok)
        path = work / f"llama-{a.shape}"
        params = save_random_llama(tok, a.shape, path, device, getattr(torch, dtype))
        r, policy = measure_dareu_steps(run, tok, reward, path, "qlora", device, a.steps, work)
        # the 7 projections of every decoder layer are nf4 (embedding, head and norms stay 16-bit)
        r["nf4_matrices"] = sum(type(p).__name__ == "Params4bit" for p in policy.model.parameters())
        del policy
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    peak_gib = r["peak_gpu_mb"] / 1024 if cuda else None
    out = {"config": {"shape": a.shape, **SHAPES[a.shape], "params": params,
                      "device": torch.cuda.get_device_name(0) if cuda else "cpu",
                      "prompts": a.prompts, "group": a.group, "max_new_tokens": a.new_tokens,
                      "steps": a.steps, "gradient_checkpointing": ckpt,
                      "precision": "bf16-mixed" if cuda else "32-true"},
           **r, "peak_gpu_gib": peak_gib, "goal_gib": GOAL_GIB,
           "goal_met": None if peak_gib is None else peak_gib <= GOAL_GIB}
    written = write_result(f"qlora-{a.shape}", out, a.out)
    print(f"DareU grpo QLoRA on a random-init Llama ({a.shape}: {params / 1e9:.2f}B params, "
          f"{out['config']['device']}), {a.prompts}×G={a.group}, ≤{a.new_tokens} new tokens, "
          f"gradient checkpointing {'on' if ckpt else 'off'}, mean of {a.steps} steps after 1 warm-up\n")
    print(table(["weights MiB", "s/step", "tokens/s", "peak GPU GiB", f"≤ {GOAL_GIB:.0f} GiB", "peak RSS MiB"],
                [[f"{r['weight_bytes'] / 2**20:.0f}", f"{r['step_s']:.2f}", f"{r['tokens_per_s']:.1f}",
                  f"{peak_gib:.2f}" if cuda else "—",
                  ("yes" if out["goal_met"] else "NO") if cuda else "— (CPU)",
                  f"{r['peak_rss_increase_mb']:.0f}"]]))
    print(f"\nwritten {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
