"""What a plan costs: the device's rates, and time / memory formulas per kind of work."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from dareu.config import Config
from dareu.plan.sizes import Shape

GIB = 2**30
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
QLORA_SLOWDOWN = 1.4  # 4-bit matmuls vs bf16 LoRA, `dareu bench gpu` on one H200 (5.0 vs 3.6 s/step)
# Decoding small batches is bound by kernel launches, not FLOPs: seconds per generated token per
# layer. GPU: `dareu bench gpu` on one H200 (22 layers, 64 tokens in 3.6 s/step in bf16 LoRA).
DECODE_S_PER_LAYER = {"cuda": 2.5e-3, "cpu": 3e-4}
ASSUMED_GPU = (125e12, 1.5e12)  # FLOP/s (312 TFLOP/s bf16 at 40 %) and bytes/s of an A100-class GPU


def on_gpu(cfg: Config) -> bool:
    return cfg.trainer.accelerator in ("gpu", "cuda") or (cfg.trainer.accelerator == "auto"
                                                          and torch.cuda.is_available())


def device_rates(cfg: Config, tflops: float | None, gbps: float | None) -> tuple[float, float, str]:
    """(FLOP/s, bytes/s, how they were obtained)."""
    if tflops and gbps:
        return tflops * 1e12, gbps * 1e9, "given"
    gpu = on_gpu(cfg)
    here = torch.cuda.is_available() if gpu else True
    if not here:
        f, b = ASSUMED_GPU
        how = "assumed A100-class GPU (this machine has none; --tflops / --gbps to change)"
    else:
        f, b = _measure(torch.device("cuda" if gpu else "cpu"), BYTES.get(cfg.model.dtype, 4))
        how = f"measured here on {'cuda' if gpu else 'cpu'} (a matmul and a copy, 0.5 s)"
    return (tflops * 1e12 if tflops else f), (gbps * 1e9 if gbps else b), how


def _measure(device: torch.device, nbytes: int) -> tuple[float, float]:
    dtype = torch.bfloat16 if nbytes == 2 and device.type == "cuda" else torch.float32
    n = 2048 if device.type == "cuda" else 512
    a = torch.randn(n, n, device=device, dtype=dtype)
    big = torch.empty(2**26 if device.type == "cuda" else 2**23, device=device)

    def timed(fn, reps: int) -> float:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / reps

    flops = 2 * n**3 / timed(lambda: a @ a, 5)
    bandwidth = 2 * big.numel() * 4 / timed(lambda: big.clone(), 5)  # read + write
    return flops, bandwidth


@dataclass
class Cost:
    shape: Shape
    cfg: Config
    flops: float
    bandwidth: float
    device: str  # cuda or cpu: which decoding floor applies
    world: int = 1

    @property
    def shards(self) -> int:
        """FSDP / DeepSpeed split weights, gradients and optimiser state over the ranks."""
        strategy = str(self.cfg.trainer.strategy).lower()
        return self.world if ("fsdp" in strategy or "deepspeed" in strategy) else 1

    def trained_model(self, mode: str) -> float:
        """Weights + gradients + optimiser state of a trained model, per device."""
        return (self.weights(mode) + self.train_state(mode)) / self.shards

    def weights(self, mode: str) -> float:
        s, b = self.shape, BYTES[self.cfg.model.dtype]
        if mode == "qlora":  # nf4 + double-quantised absmax ≈ 4.13 bits; embeddings stay 16-bit
            return (s.params - s.embed_params) * 0.516 + s.embed_params * b
        return s.params * b

    def train_state(self, mode: str) -> float:
        """Gradients + AdamW moments (fp32) of what trains."""
        trained = self.shape.adapter_params if mode in ("lora", "qlora") else self.shape.params
        return trained * (4 + 8) if mode != "full" else trained * (BYTES[self.cfg.model.dtype] + 8)

    def activations(self, sequences: float, tokens: float) -> float:
        """Training activations of one forward + the fp32 logits (≈34 bytes / token / hidden unit
        per layer in 16-bit; checkpointing keeps one layer's and the layer inputs)."""
        s, b = self.shape, BYTES[self.cfg.model.dtype]
        n = sequences * tokens
        per_layer = n * s.hidden * 17 * b
        act = (per_layer + n * s.hidden * b * s.layers if self.cfg.model.gradient_checkpointing
               else per_layer * s.layers)
        return act + 2 * n * s.vocab * 4

    def kv_cache(self, sequences: float, tokens: float) -> float:
        s = self.shape
        return 2 * s.layers * s.kv_dim * sequences * tokens * BYTES[self.cfg.model.dtype]

    def train_seconds(self, mode: str, tokens: float) -> float:
        k = 6 if mode == "full" else 4  # adapters: no weight gradients of the base
        if self.cfg.model.gradient_checkpointing:
            k += 2
        slow = QLORA_SLOWDOWN if mode == "qlora" else 1.0
        return k * self.shape.params * tokens / self.flops * slow

    def forward_seconds(self, mode: str, tokens: float) -> float:
        return 2 * self.shape.params * tokens / self.flops * (QLORA_SLOWDOWN if mode == "qlora" else 1)

    def generate_seconds(self, mode: str, sequences: float, new_tokens: float, batch: int) -> float:
        """Greedy / sampled decoding: each token step reads every weight once per batch, and pays
        a launch-bound floor per layer."""
        batches = math.ceil(sequences / max(1, batch))
        slow = QLORA_SLOWDOWN if mode == "qlora" else 1.0
        floor = DECODE_S_PER_LAYER[self.device] * self.shape.layers * slow
        per_step = max(2 * self.shape.params * min(batch, sequences) / self.flops * slow,
                       self.weights(mode) / self.bandwidth, floor)
        return batches * new_tokens * per_step

