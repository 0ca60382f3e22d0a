"""`dareu bench memory`: weight bytes and peak memory of one model in full / LoRA / QLoRA.

A random-init Llama-shaped model (default 4 layers × 512, so the linear layers dominate) is saved
once; each mode loads it in a fresh process (`dareu.models.load_causal_lm`, as DareU does) and runs
one forward+backward+AdamW step on a batch. Weight bytes are `dareu.models.weight_bytes` (4-bit
weights count as packed bytes plus quantisation constants); peak memory is the process's RSS
increase over loading + the step (CPU), or the CUDA peak allocated on a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from dareu.bench.common import PeakRSS, fmt, run_worker, summary, table, write_result

MODES = ("full", "lora", "qlora")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench memory", description=__doc__.splitlines()[0])
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=512)
    p.add_argument("--n-head", type=int, default=8)
    p.add_argument("--vocab", type=int, default=1000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--reps", type=int, default=2, help="fresh processes per mode")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--work", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return p


def _cfg(a):
    from dareu.config import ModelConfig

    return ModelConfig(arch="llama", n_layer=a.n_layer, n_embd=a.n_embd, n_head=a.n_head,
                       vocab_size=a.vocab, max_length=max(a.seq, 16), lora_r=16, lora_alpha=32)


def _build(a, work: Path) -> int:
    from dareu.models import build_tiny_model, train_tokenizer

    path = work / "model"
    if not (path / "config.json").is_file():
        from dareu.data.synthetic import synthetic_corpus

        corpus = synthetic_corpus(num_owners=4, qa_per_owner=4, num_holdout_owners=0,
                                  num_test_questions=0, num_forget_owners=1, seed=0)
        tok = train_tokenizer(corpus.all_texts(), a.vocab)
        model = build_tiny_model(_cfg(a), tok, seed=0)
        model.save_pretrained(path)
        tok.save_pretrained(path)
    return path


def worker(a, work: Path, mode: str) -> dict:
    from dareu.models import load_causal_lm, weight_bytes

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    torch.manual_seed(0)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        model = load_causal_lm(work / "model", _cfg(a), mode=mode, device=device)
        load_s = time.perf_counter() - t0
        wb = weight_bytes(model)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        ids = torch.randint(4, model.config.vocab_size, (a.batch, a.seq), device=device)
        t0 = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        step_s = time.perf_counter() - t0
    linear4 = sum(m.weight.numel() for m in model.modules() if type(m).__name__ == "Linear4bit")
    return {"weight_bytes": wb, "trainable_params": trainable, "load_s": load_s, "step_s": step_s,
            "peak_mb": (torch.cuda.max_memory_allocated() if cuda else mem.increase) / 2**20,
            "peak_kind": "cuda max allocated" if cuda else "RSS increase", "linear4bit_packed": linear4}


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="dareu-bench-mem-"))
    if a.worker:
        print(json.dumps(worker(a, work, a.worker)))
        return 0
    _build(a, work)
    from transformers import AutoConfig

    conf = AutoConfig.from_pretrained(str(work / "model"))
    args = [x for x in argv] + ["--work", str(work)]
    modes = [m for m in a.modes.split(",") if m]
    raw: dict[str, list[dict]] = {m: [] for m in modes}
    for rep in range(a.reps):
        for m in modes:
            print(f"[memory] rep {rep + 1}/{a.reps}: {m}", file=sys.stderr, flush=True)
            raw[m].append(run_worker("dareu.bench.memory", args + ["--worker", m]))
    result = {"config": {"model": f"llama random-init {a.n_layer}x{a.n_embd}, vocab {conf.vocab_size}",
                         "batch": a.batch, "seq": a.seq, "reps": a.reps, "dtype": "float32",
                         "qlora": "nf4 + double quant, compute float32"}, "modes": {}}
    for m in modes:
        r0 = raw[m][0]
        result["modes"][m] = {"weight_bytes": r0["weight_bytes"], "weight_mb": r0["weight_bytes"] / 2**20,
                              "trainable_params": r0["trainable_params"],
                              "peak_mb": summary([r["peak_mb"] for r in raw[m]]),
                              "step_s": summary([r["step_s"] for r in raw[m]]),
                              "peak_kind": r0["peak_kind"]}
    if "full" in result["modes"]:
        full = result["modes"]["full"]["weight_bytes"]
        for m, v in result["modes"].items():
            v["weight_ratio_vs_full_fp32"] = v["weight_bytes"] / full
            v["weight_ratio_vs_16bit"] = v["weight_bytes"] / (full / 2)
    path = write_result("memory", result, a.out)
    print(render(result))
    print(f"\nwritten {path}")
    return 0


def render(r: dict) -> str:
    c = r["config"]
    rows = [[m, f"{v['weight_mb']:.1f}", f"{v.get('weight_ratio_vs_16bit', float('nan')):.2f}",
             f"{v['trainable_params']:,}", fmt(v["peak_mb"]), fmt(v["step_s"])]
            for m, v in r["modes"].items()]
    return "\n".join([f"Memory of modes: {c['model']}, batch {c['batch']}×{c['seq']}, one fwd+bwd+AdamW "
                      f"step; {c['reps']} processes per mode; median (min–max)", "",
                      table(["mode", "weights MiB", "weights / 16-bit full", "trainable params",
                             "peak MiB (load + step)", "step s"], rows)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
