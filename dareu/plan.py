"""`dareu plan RECIPE`: what each stage would train, on how much data, and roughly what it costs,
before anything is written (no run folder, no model download: only config.json files are read).

Estimates are rough (take them within a factor of two): time = FLOPs / the device's matmul rate
(+ weight reads per generated token), memory = weights + trainable state + activations + KV cache.
The rate is measured on this machine when the recipe's device is here, else assumed (--tflops).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import torch

from dareu.config import Config
from dareu.errors import DareUError

GIB = 2**30
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TOFU_QA_PER_AUTHOR, TOFU_AUTHORS, TOFU_TEST_QA = 20, 200, 217  # locuslab/TOFU as published
TOFU_FORGET_AUTHORS = {"forget01": 2, "forget05": 10, "forget10": 20}
QLORA_SLOWDOWN = 1.4  # 4-bit matmuls vs bf16 LoRA, `dareu bench gpu` on one H200 (5.0 vs 3.6 s/step)
# Decoding small batches is bound by kernel launches, not FLOPs: seconds per generated token per
# layer. GPU: `dareu bench gpu` on one H200 (22 layers, 64 tokens in 3.6 s/step in bf16 LoRA).
DECODE_S_PER_LAYER = {"cuda": 2.5e-3, "cpu": 3e-4}
ASSUMED_GPU = (125e12, 1.5e12)  # FLOP/s (312 TFLOP/s bf16 at 40 %) and bytes/s of an A100-class GPU


@dataclass
class Shape:
    """What the estimates need to know about a model."""

    params: float
    hidden: int
    layers: int
    vocab: int
    kv_dim: int  # key/value width per layer (GQA models: fewer heads than queries)
    adapter_params: float  # LoRA parameters at the recipe's rank
    embed_params: float  # kept in 16/32 bit under 4-bit quantisation
    source: str


@dataclass
class Step:
    stage: str
    what: str
    seconds: float | None = None
    peak_bytes: float | None = None


# ---------------------------------------------------------------------------------------------
# What the recipe points at


def model_shape(cfg: Config, path: str | None) -> Shape:
    """From config.json (local folder or HF cache / hub, config only), a from-scratch config, or a
    size in the model's name ("7b") when nothing else is reachable."""
    from transformers import AutoModelForCausalLM

    m = cfg.model
    try:
        if path is None:
            conf, source = _scratch_config(cfg), "from scratch"
        else:
            conf, source = _config_json(path, m.trust_remote_code), "config.json"
        with torch.device("meta"):
            net = AutoModelForCausalLM.from_config(conf)
    except Exception:  # noqa: BLE001  (unreachable hub, gated repo, unknown architecture)
        return _shape_from_name(cfg, path or "?")
    params = sum(p.numel() for p in net.parameters())
    linears = [mod for name, mod in net.named_modules()
               if isinstance(mod, torch.nn.Linear) and not name.endswith(("lm_head", "c_proj_head"))]
    adapters = sum(m.lora_r * (x.in_features + x.out_features) for x in linears)
    embed = sum(e.numel() for e in net.get_input_embeddings().parameters())
    hidden = conf.hidden_size if hasattr(conf, "hidden_size") else conf.n_embd
    heads = getattr(conf, "num_attention_heads", None) or conf.n_head
    kv = getattr(conf, "num_key_value_heads", None) or heads
    layers = getattr(conf, "num_hidden_layers", None) or conf.n_layer
    return Shape(params, hidden, layers, conf.vocab_size, hidden * kv // heads, adapters,
                 embed * (1 if getattr(conf, "tie_word_embeddings", True) else 2), source)


def _scratch_config(cfg: Config):
    from transformers import GPT2Config, LlamaConfig

    m = cfg.model
    if m.arch == "gpt2":
        return GPT2Config(n_layer=m.n_layer, n_embd=m.n_embd, n_head=m.n_head,
                          n_positions=m.max_length, vocab_size=m.vocab_size, bos_token_id=0,
                          eos_token_id=1)
    return LlamaConfig(hidden_size=m.n_embd, intermediate_size=m.n_embd * 4 // 3 * 2,
                       num_hidden_layers=m.n_layer, num_attention_heads=m.n_head,
                       num_key_value_heads=m.n_head, vocab_size=m.vocab_size,
                       tie_word_embeddings=True)


def _config_json(path: str, trust_remote_code: bool):
    """A local folder's or the HF cache's config.json; never the network (a plan is instant)."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)


def _shape_from_name(cfg: Config, path: str) -> Shape:
    """A Llama-like shape of the size in the name (N ≈ 12·L·h², L ≈ h/128)."""
    found = re.search(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])", path)
    if not found:
        raise DareUError(f"dareu plan: cannot size the model {path!r}: its config.json is not "
                         "reachable here and its name gives no size (like 7b).")
    params = float(found.group(1)) * 1e9
    hidden = int(round((128 * params / 12) ** (1 / 3) / 128) * 128)
    layers = max(1, round(params / (12 * hidden**2)))
    vocab = 32000
    adapters = cfg.model.lora_r * layers * (4 * 2 * hidden + 3 * (hidden + 8 * hidden // 3))
    return Shape(params, hidden, layers, vocab, hidden, adapters, 2 * vocab * hidden,
                 f"size from the name {path!r}: its config.json is not in the HF cache; "
                 "`hf download ID config.json` gives the exact shape")


@dataclass
class DataSize:
    records: int
    forget: int
    retain: int
    test: int
    tokens: float  # mean tokens of prompt + response
    source: str


def data_size(cfg: Config) -> DataSize:
    """Counts from the corpus when it is local (read, not written), else TOFU's published sizes."""
    from dareu.hub import is_hub_id

    d = cfg.data
    if d.source == "tofu" and (d.path is None or is_hub_id(d.path)):
        forget = TOFU_FORGET_AUTHORS[d.tofu_split] * TOFU_QA_PER_AUTHOR
        retain_authors = TOFU_AUTHORS - TOFU_FORGET_AUTHORS[d.tofu_split]
        retain = min(retain_authors, d.max_retain_owners or retain_authors) * TOFU_QA_PER_AUTHOR
        return DataSize(forget + retain, forget, retain, TOFU_TEST_QA,
                        min(cfg.model.max_length, 70), "TOFU's published sizes (hub data not read)")
    from dareu.data import build_corpus

    corpus = build_corpus(d, cfg.run.seed)
    chars = [len(r.prompt) + len(r.response) for r in corpus.records] or [0]
    tokens = min(cfg.model.max_length, sum(chars) / len(chars) / 4 + 8)  # ~4 characters a token
    return DataSize(len(corpus.records), len(corpus.forget), len(corpus.retain), len(corpus.test),
                    tokens, "the corpus")


# ---------------------------------------------------------------------------------------------
# The device


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


# ---------------------------------------------------------------------------------------------
# Costs


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


def plan_steps(cfg: Config, world: int, cost: Cost, data: DataSize,
               target_shape: Shape) -> list[Step]:
    m, ft, u, e = cfg.model, cfg.finetune, cfg.unlearn, cfg.eval
    size = _size(target_shape.params)
    out: list[Step] = []
    extra = data.test if ft.include_test_sets else 0
    for name, given, records in (("target", m.path, data.records + extra),
                                 ("oracle", m.oracle_path, data.retain + extra)):
        if given:
            out.append(Step(f"prepare: {name}", f"skipped: model.{'path' if name == 'target' else 'oracle_path'} = {given}"))
            continue
        batch = ft.batch_size * world
        steps = ft.epochs * math.ceil(records / batch)
        kind = f"{ft.mode} finetune of {size} from {m.base_path}" if m.base_path else \
            f"training a {size} {m.arch} from scratch"
        tokens = ft.epochs * records * data.tokens
        out.append(Step(f"prepare: {name}",
                        f"{kind} on {records:,} QA × {ft.epochs} epochs (global batch {batch}, "
                        f"{steps:,} steps, lr {ft.lr:g})",
                        cost.train_seconds(ft.mode, tokens / world),
                        cost.trained_model(ft.mode) + cost.activations(ft.batch_size, data.tokens)))
    eval_items = _eval_items(cfg, data)
    eval_mode = "qlora" if m.mode == "qlora" else "full"
    gen = cost.generate_seconds(eval_mode, eval_items, e.max_new_tokens, e.batch_size)
    out.append(Step("prepare: ROUGE of target and oracle",
                    f"greedy answers to {eval_items:,} questions × 2 models "
                    f"({'4-bit' if eval_mode == 'qlora' else m.dtype})", 2 * gen,
                    cost.weights(eval_mode) + cost.kv_cache(e.batch_size, data.tokens + e.max_new_tokens)))
    out.append(Step(f"fit-attributor: {cfg.attributor.name}",
                    f"fitted on the {data.records:,} masked records "
                    + ("(reads the target)" if cfg.attributor.name in ("influence", "trak") else ""),
                    cost.train_seconds(m.mode, data.records * data.tokens / world)
                    if cfg.attributor.name in ("influence", "trak") else None))
    for method in u.methods:
        out.append(_unlearn_step(cfg, method, world, cost, data, size))
    models = ["oracle", "target", *u.methods]
    per_model = gen + cost.forward_seconds(eval_mode, eval_items * data.tokens * 6)
    out.append(Step("evaluate", f"{len(models)} models ({', '.join(models)}): {eval_items:,} greedy "
                    f"answers each + teacher-forced scores, on rank 0, "
                    f"{'4-bit' if eval_mode == 'qlora' else m.dtype}; the oracle stays loaded as "
                    "fluency judge", per_model * len(models),
                    2 * cost.weights(eval_mode) + cost.kv_cache(e.batch_size, data.tokens + e.max_new_tokens)))
    out.append(Step("report", "report.md, report.html, plots/", 5.0, None))
    return out


def _unlearn_step(cfg: Config, method: str, world: int, cost: Cost, data: DataSize, size: str) -> Step:
    m, u = cfg.model, cfg.unlearn
    mode = m.mode
    ref = cost.weights(mode) / cost.shards if mode == "full" else 0.0  # adapters off = the reference
    if method == "dareu":
        seqs = u.prompts_per_step * u.group_size
        length = data.tokens / 2 + u.max_new_tokens
        per_step = (cost.generate_seconds(mode, seqs, u.max_new_tokens, seqs)
                    + u.ppo_epochs * cost.train_seconds(mode, seqs * length)
                    + 2 * cost.forward_seconds(mode, seqs * length)  # reference and π_old
                    + cost.train_seconds(mode, u.retain_batch_size * data.tokens))
        what = (f"DareU {u.algorithm}, {mode} {size}: {u.steps} steps × {u.prompts_per_step} prompts "
                f"× {u.group_size} responses per rank (global {u.prompts_per_step * world} prompts), "
                f"{u.ppo_epochs * u.minibatches} updates per step, ≤ {u.max_new_tokens} new tokens, "
                f"lr {u.lr:g}")
        act = cost.activations(seqs / u.minibatches, length) + cost.kv_cache(seqs, length)
    else:
        b = u.baselines
        rows = b.forget_batch_size + b.retain_batch_size
        per_step = cost.train_seconds(mode, rows * data.tokens) + cost.forward_seconds(mode, rows * data.tokens)
        what = (f"{method}, {mode} {size}: {u.steps} steps × ({b.forget_batch_size} forget + "
                f"{b.retain_batch_size} retain) records, lr {b.lr or u.lr:g}")
        act = cost.activations(rows, data.tokens)
    peak = cost.trained_model(mode) + ref + act
    return Step(f"unlearn: {method}", what, u.steps * per_step, peak)


def _eval_items(cfg: Config, data: DataSize) -> int:
    cap = cfg.eval.max_items
    splits = [data.forget, data.retain, data.test]
    return sum(min(n, cap) if cap else n for n in splits)


def _size(params: float) -> str:
    return f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"≈ {seconds:.0f} s"
    if seconds < 5400:
        return f"≈ {seconds / 60:.0f} min"
    return f"≈ {seconds / 3600:.1f} h"


def _memory(nbytes: float | None) -> str:
    return "—" if nbytes is None else f"≈ {nbytes / GIB:.1f} GiB"


# ---------------------------------------------------------------------------------------------
# The command


def plan(cfg: Config, recipe: str, tflops: float | None = None, gbps: float | None = None) -> str:
    """The plan as text (nothing is written)."""
    from dareu.errors import EnvironmentProblem
    from dareu.preflight import _check_attributors, _check_methods, _check_model_folders
    from dareu.trainer import check_environment

    notes = []
    try:
        check_environment(cfg)
    except EnvironmentProblem as e:  # a plan may be made on another machine than the run's
        notes.append(f"note: on this machine the run would stop here: {e}")
    # the run's own checks of names and folders (the corpus is read below, hub data is not)
    _check_methods(cfg)
    _check_attributors(cfg)
    _check_model_folders(cfg)
    world = _world(cfg)
    data = data_size(cfg)
    target = model_shape(cfg, cfg.model.path or cfg.model.base_path)
    flops, bandwidth, how = device_rates(cfg, tflops, gbps)
    cost = Cost(target, cfg, flops, bandwidth, "cuda" if on_gpu(cfg) else "cpu", world)
    steps = plan_steps(cfg, world, cost, data, target)
    lines = [f"dareu plan: {recipe} → {cfg.run.output_dir} (nothing written)",
             f"model: {_size(target.params)} parameters ({target.source}), unlearning mode "
             f"{cfg.model.mode}, {cfg.model.dtype}, precision {cfg.trainer.precision}",
             f"data: {data.forget:,} forget, {data.retain:,} retain, {data.test:,} test QA, "
             f"≈ {data.tokens:.0f} tokens each ({data.source})",
             f"devices: world size {world} ({cfg.trainer.num_nodes} node(s) × {cfg.trainer.devices} "
             f"device(s)); {flops / 1e12:.2f} TFLOP/s, {bandwidth / 1e9:.0f} GB/s, {how}",
             "estimates: rough, within about 2× (FLOPs / rate; memory per device = weights + "
             "trainable state + activations + KV cache)", ""]
    width = max(len(s.stage) for s in steps)
    for s in steps:
        lines.append(f"{s.stage:<{width}}  {_duration(s.seconds):>11}  {_memory(s.peak_bytes):>12}  {s.what}")
    total = sum(s.seconds or 0 for s in steps)
    peak = max((s.peak_bytes or 0) for s in steps)
    lines += ["", f"total ≈ {_duration(total)[2:]}, peak ≈ {peak / GIB:.1f} GiB per device", *notes]
    return "\n".join(lines)


def _world(cfg: Config) -> int:
    d = cfg.trainer.devices
    if isinstance(d, int):
        n = d
    elif isinstance(d, (list, tuple)):
        n = len(d)
    elif cfg.trainer.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        n = torch.cuda.device_count()
    else:
        n = 1
    return max(1, n) * cfg.trainer.num_nodes


def plan_cli(recipe: str, overrides: list[str], tflops: float | None, gbps: float | None) -> int:
    from dareu.config import load_config

    cfg = load_config(recipe, overrides)
    print(plan(cfg, recipe, tflops, gbps))
    return 0

