"""What the GPU benches measure on one saved policy: a few DareU training steps (time, tokens/s,
peak memory) and the rollout sampler's tokens/s under each decoding path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from dareu.bench.common import PeakRSS, step_meter


def measure_dareu_steps(run, tok, reward, path: Path, mode: str, device: torch.device, steps: int,
                        work: Path) -> tuple[dict[str, Any], Any]:
    """(figures, policy): `steps` DareU steps after one warm-up step, on the policy saved at `path`
    loaded in `mode` (full, lora, qlora). Peak GPU memory counts from before the policy is loaded."""
    from dareu.models import weight_bytes
    from dareu.modules.dareu import DareUModule
    from dareu.modules.policy import Policy
    from dareu.trainer import make_trainer

    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as mem:
        policy = Policy.from_pretrained(path, tok, run.cfg.model, mode, device)
        wb = weight_bytes(policy.model)
        module = DareUModule(policy, reward, run.corpus.forget, run.corpus.retain, run.cfg)
        clock, times, tokens = step_meter(module, cuda)
        trainer = make_trainer(run.cfg.trainer, work / "logs", mode, max_steps=steps + 1, logger=False,
                               enable_checkpointing=False, callbacks=[clock])
        trainer.fit(module)
    t, n = times[1:], tokens[1:]
    return {"weight_bytes": wb, "step_s": sum(t) / len(t), "tokens_per_s": sum(n) / sum(t),
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
            "peak_rss_increase_mb": mem.increase / 2**20}, policy


def decode_speed(model, tok, prompt_texts: list[str], group: int, new_tokens: int, decode: str,
                 reps: int = 3) -> dict[str, Any]:
    """Generated tokens/s (through EOS) of the rollout sampler under `decode`, mean of `reps` calls
    after one warm-up call (which pays for compiling and capturing; its time is reported apart)."""
    from dareu.decoding import plan_for
    from dareu.generation import encode_prompts
    from dareu.rl import response_mask
    from dareu.sampling import sample

    device = next(model.parameters()).device
    enc = encode_prompts(tok, prompt_texts, device)
    tp = enc["input_ids"].shape[1]

    def once(seed: int) -> tuple[float, int]:
        torch.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        seq = sample(model, enc["input_ids"], enc["attention_mask"], group, new_tokens,
                     tok.eos_token_id, tok.pad_token_id, decode=decode)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0, int(response_mask(seq[:, tp:], tok.eos_token_id,
                                                           tok.pad_token_id).sum())

    warmup_s, _ = once(0)
    runs = [once(1 + i) for i in range(reps)]
    plan = plan_for(model, decode, device)
    return {"tokens_per_s": sum(n for _, n in runs) / sum(s for s, _ in runs), "warmup_s": warmup_s,
            "static": plan.static, "compiled": plan.compiled, "plan": plan.reason}
