"""The measurements of `dareu bench rl-step`, one per fresh process (`--worker NAME`).

`python -m dareu.bench.rl_step ... --worker NAME` runs `worker(NAME, ...)` and prints its result as
one JSON line: a DareU side (grpo, ppo) or TRL's GRPOTrainer timed over warm-up + timed steps, the
generation / forward+backward bound, a cProfile of one DareU step, or the attributors' score cost.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from pathlib import Path

import torch

from dareu.bench.common import PeakRSS, classifier_reward, step_meter, tiny_overrides, tiny_run


def worker(name: str, a, work: Path) -> dict:
    """The measurement `--worker name` makes, in this process."""
    fn = {"trl": lambda: worker_trl(a, work), "bound": lambda: worker_bound(a, work),
          "profile": lambda: worker_profile(a, work), "reward": lambda: worker_reward(a, work),
          "grpo": lambda: worker_dareu(a, work, "grpo"),
          "ppo": lambda: worker_dareu(a, work, "ppo")}[name]
    return fn()


def _overrides(a, work: Path, algorithm: str = "grpo") -> list[str]:
    return tiny_overrides(work, prompts=a.prompts, group=a.group, new_tokens=a.new_tokens,
                          n_layer=a.n_layer, n_embd=a.n_embd, n_head=a.n_head, vocab=a.vocab,
                          lr=a.lr, beta=a.beta, algorithm=algorithm,
                          extra=(["trainer.accelerator=gpu"] if a.device == "cuda" else [])
                          + [f"model.gradient_checkpointing={a.gradient_checkpointing}"])


def _peak_gpu(a) -> int | None:
    """Peak GPU memory allocated by the process (policy, reference, reward, optimiser, activations)."""
    return torch.cuda.max_memory_allocated() if a.device == "cuda" else None


def _sync(a) -> None:  # step timers stop when the GPU has finished the step's work
    if a.device == "cuda":
        torch.cuda.synchronize()


def _dareu_module(a, work: Path, algorithm: str, mem: PeakRSS | None = None):
    """DareU's module on the bench policy; `mem` starts measuring just before the policy loads
    (as TRL's side does: run and reward are built first on both sides)."""
    from dareu.modules.dareu import DareUModule
    from dareu.modules.policy import Policy

    run, tok = tiny_run(_overrides(a, work, algorithm))
    reward = classifier_reward(run, tok)
    torch.manual_seed(0)
    if mem is not None:
        mem.begin()
    policy = Policy.from_pretrained(work / "policy", tok, run.cfg.model, "full", torch.device(a.device))
    return DareUModule(policy, reward, run.corpus.forget, run.corpus.retain, run.cfg).to(a.device), run


def _fit_dareu(module, steps: int, callbacks=()) -> None:
    from dareu.trainer import make_trainer

    trainer = make_trainer(module.cfg.trainer, module.cfg.output_dir / "logs", "bench", max_steps=steps,
                           logger=False, enable_checkpointing=False, callbacks=list(callbacks))
    trainer.fit(module)


def worker_dareu(a, work: Path, algorithm: str) -> dict:
    mem = PeakRSS()
    module, _ = _dareu_module(a, work, algorithm, mem)
    clock, times, tokens = step_meter(module, cuda=a.device == "cuda")
    with mem:  # begun in _dareu_module, before the policy loaded
        _fit_dareu(module, a.warmup + a.steps, [clock])
    return {"step_s": times[a.warmup:], "tokens": tokens[a.warmup:], "peak_rss_increase": mem.increase,
            "peak_gpu": _peak_gpu(a)}


def worker_trl(a, work: Path) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    run, tok = tiny_run(_overrides(a, work))
    reward = classifier_reward(run, tok).to(a.device)
    tokens: list[int] = []

    def de_attribution(prompts, completions, completion_ids=None, **kw):
        tokens.append(sum(len(c) for c in completion_ids))
        return reward(prompts=prompts, completions=completions)  # DareU's TRL signature

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *args, **kw):
            _sync(a)
            self.t0 = time.perf_counter()

        def on_step_end(self, *args, **kw):
            _sync(a)
            times.append(time.perf_counter() - self.t0)

    torch.manual_seed(0)
    texts = [run.prompt_text(r.prompt) for r in run.corpus.forget]
    with PeakRSS() as mem:
        model = AutoModelForCausalLM.from_pretrained(str(work / "policy"))
        cfg = GRPOConfig(
            output_dir=str(work / "trl"), per_device_train_batch_size=a.prompts * a.group,
            gradient_accumulation_steps=1, num_generations=a.group, max_completion_length=a.new_tokens,
            temperature=1.0, top_p=1.0, top_k=0, beta=a.beta, learning_rate=a.lr,
            lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
            loss_type="dapo", epsilon=0.2, scale_rewards="group", num_iterations=1,
            steps_per_generation=1, use_vllm=False, use_cpu=a.device == "cpu", bf16=False, fp16=False,
            report_to="none", save_strategy="no", logging_steps=10**6, disable_tqdm=True,
            max_steps=a.warmup + a.steps, disable_dropout=True, seed=0, log_completions=False,
            mask_truncated_completions=False, dataloader_num_workers=0,
            gradient_checkpointing=a.gradient_checkpointing)
        trainer = GRPOTrainer(model=model, reward_funcs=de_attribution, args=cfg,
                              train_dataset=Dataset.from_dict({"prompt": texts}), processing_class=tok,
                              callbacks=[Clock()])
        trainer.train()
    return {"step_s": times[a.warmup:], "tokens": tokens[a.warmup:], "peak_rss_increase": mem.increase,
            "peak_gpu": _peak_gpu(a)}


def worker_bound(a, work: Path) -> dict:
    """(a) generation alone, (b) one forward+backward of the policy over the generated tokens."""
    from dareu.generation import encode_prompts
    from dareu.rl import response_mask

    module, run = _dareu_module(a, work, "grpo")
    tok, model = module.tokenizer, module.policy.model
    texts = [t for _, t in module.forget_prompts[:a.prompts]]
    enc = encode_prompts(tok, texts, torch.device(a.device))
    gen, fb, tokens = [], [], []
    for i in range(a.warmup + a.steps):
        _sync(a)
        t0 = time.perf_counter()
        seq = module._sample(enc, a.group, i, stream=0)  # exactly DareU's sampling call
        _sync(a)
        t1 = time.perf_counter()
        resp = seq[:, enc["input_ids"].shape[1]:]
        mask = response_mask(resp, tok.eos_token_id, tok.pad_token_id)
        att = torch.cat([enc["attention_mask"].repeat_interleave(a.group, 0), mask.long()], 1)
        t2 = time.perf_counter()
        feats, _ = module.lm.features(module.lm.split(model)[0], seq, att, resp.shape[1])
        logp = module.lm.logp(model, feats, resp)  # DareU's path: the head in chunks
        loss = -(logp * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()
        model.zero_grad(set_to_none=True)
        _sync(a)
        t3 = time.perf_counter()
        if i >= a.warmup:
            gen.append(t1 - t0)
            fb.append(t3 - t2)
            tokens.append(int(mask.sum()))
    return {"generate_s": gen, "fwd_bwd_s": fb, "tokens": tokens}


PROFILE_KEYS = {  # label: (file suffix, function name)
    "sampling (dareu.sampling.sample)": ("dareu/sampling.py", "sample"),
    "reward: attributor score": ("dareu/reward.py", "forget_mass"),
    "policy/ref forwards (response_features)": ("dareu/modules/lm_forward.py", "response_features"),
    "step metrics (_log_step)": ("dareu/modules/dareu.py", "_log_step"),
    "rollout total (_rollout)": ("dareu/modules/dareu.py", "_rollout"),
    "backward": ("torch/_tensor.py", "backward"),
    "grad clip": ("lightning/pytorch/core/module.py", "clip_gradients"),
    "optimizer.step": ("torch/optim/optimizer.py", "wrapper"),
    "update total (_optimise)": ("dareu/modules/dareu.py", "_optimise"),
}


def worker_profile(a, work: Path) -> dict:
    """cProfile of one DareU grpo step (after a warm-up step)."""
    from lightning.pytorch.callbacks import Callback

    module, _ = _dareu_module(a, work, "grpo")
    prof = cProfile.Profile()
    clock: dict[str, float] = {}

    class Profile(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            if batch_idx == a.warmup:
                clock["t0"] = time.perf_counter()
                prof.enable()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if batch_idx == a.warmup:
                prof.disable()
                clock["step"] = time.perf_counter() - clock["t0"]

    _fit_dareu(module, a.warmup + 1, [Profile()])
    stats = pstats.Stats(prof)
    found: dict[str, float] = {}
    for (path, _, name), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        for label, (suffix, fn) in PROFILE_KEYS.items():
            if name == fn and path.replace("\\", "/").endswith(suffix):
                found[label] = max(found.get(label, 0.0), cum)
    top = sorted(((cum, tt, f"{Path(p).name}:{ln}({fn})") for (p, ln, fn), (_, _, tt, cum, _)
                  in stats.stats.items()), key=lambda r: -r[1])[:15]  # type: ignore[attr-defined]
    return {"step_s": clock["step"], "breakdown_s": found,
            "top_self_time": [{"function": f, "self_s": tt, "cum_s": cum} for cum, tt, f in top]}


def worker_reward(a, work: Path) -> dict:
    """Seconds of each attributor's `score` on one step's P·G responses (warm, median of 3)."""
    from attributors.base import AttributorContext, build_attributor
    from dareu.generation import decode_responses, encode_prompts

    module, run = _dareu_module(a, work, "grpo")
    tok = module.tokenizer
    batch = module.forget_prompts[:a.prompts]
    enc = encode_prompts(tok, [t for _, t in batch], torch.device(a.device))
    seq = module._sample(enc, a.group, 0, stream=0)
    responses = decode_responses(tok, seq[:, enc["input_ids"].shape[1]:])
    prompts = [p for p, _ in batch for _ in range(a.group)]
    ctx = AttributorContext(target_path=str(work / "policy"), tokenizer=tok, model_cfg=run.cfg.model,
                            trainer_cfg=run.cfg.trainer, seed=0, device=a.device)
    options = {"classifier": None, "influence": {"hessian": "ekfac"},
               "trak": {"projection_dim": 512}}
    out = {}
    for name in [n for n in a.attributors.split(",") if n]:
        attributor = (module.reward.attributor if name == "classifier" else
                      build_attributor(name, options[name], ctx).fit(run.corpus))
        times = []
        for _ in range(4):
            _sync(a)
            t0 = time.perf_counter()
            attributor.score(prompts, responses)
            _sync(a)
            times.append(time.perf_counter() - t0)
        out[name] = times[1:]
    return {"score_s": out, "responses": len(responses)}
