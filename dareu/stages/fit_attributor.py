"""`dareu fit-attributor`: fit the owner attributor on the alias-masked corpus and save it.

Runs after `dareu prepare` (it needs the run's tokenizer, and the target model when the attributor
reads it). An attributor that trains on the target's own answers (`target_sampling`, e.g. the
classifier's use_target_generations) gets them from here: this stage owns the target, samples the
answers and hands them over, masked, as `context.target_answers`. Held-out accuracy / macro-F1 /
ECE and the time to score 32 responses go to summary.json under `models.attributor`.

The extra attributors of `eval.attributors` (measurement only, never the reward) are fitted the
same way, each with its default options, as stage `attributor-<name>` into `attributors/<name>/`
(report under `models.attributor_<name>`); one named like the reward's attributor reuses it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from attributors.base import Attributor, AttributorContext, TargetSampling, build_attributor
from attributors.masking import AliasMasker, mask_corpus
from dareu.config import AttributorConfig, attributor_slug
from dareu.data.corpus import Record
from dareu.errors import DareUError
from dareu.io import atomic_dir, update_summary
from dareu.pipeline import Run, is_rank_zero, model_key
from dareu.trainer import training_key

log = logging.getLogger("dareu")

STAGE = "attributor"


def fit_attributor(run: Run) -> dict:
    """The reward's attributor (its result is returned), then the extra eval attributors."""
    result = fit_one(run, run.cfg.attributor, run.attributor_dir, STAGE, "attributor")
    fit_eval_attributors(run)
    return result


def fit_eval_attributors(run: Run) -> dict[str, dict]:
    """Each attributor of eval.attributors not named like the reward's, with default options."""
    cfg = run.cfg
    if "attribution" not in cfg.eval.metrics:
        if cfg.eval.attributors:
            log.warning("eval.attributors=%s not fitted: eval.metrics has no `attribution`",
                        cfg.eval.attributors)
        return {}
    out = {}
    for name in cfg.eval.attributors:
        if name == cfg.attributor.name:
            continue  # the reward's attributor measures itself: no second fit
        slug = attributor_slug(name)
        out[name] = fit_one(run, replace(cfg.attributor, name=name, options={}),
                            run.eval_attributor_dir(name), f"{STAGE}-{slug}", f"attributor_{slug}")
    return out


def fit_one(run: Run, acfg: AttributorConfig, directory: Path, stage: str, summary_key: str) -> dict:
    """Fit the attributor `acfg` describes on the run's masked corpus and save it in `directory`,
    as the resumable stage `stage`; its fit report goes to summary.json under `summary_key`."""
    cfg = run.cfg
    attributor = build_attributor(acfg.name, acfg.options, _context(run))
    key = [cfg.data, acfg, model_key(cfg), cfg.run.seed, *training_key(cfg.trainer)]
    if attributor.uses_target:
        _require(run.target_dir / "config.json", "the target model", run)
        key.append(run.stage_hash("target"))
    return run.stage(stage, key, lambda: _fit(run, attributor, directory, summary_key),
                     outputs=[directory / "attributor.json", (run.out / "summary.json", f"models.{summary_key}")])


def _context(run: Run) -> AttributorContext:
    from dareu.trainer import resolve_device

    cfg = run.cfg
    try:
        tokenizer = run.tokenizer
    except DareUError as e:
        raise DareUError(f"fit-attributor needs the run's tokenizer: {str(e).rstrip('.')}. Run "
                         "`dareu prepare RECIPE` with the same recipe and overrides first.") from None
    masker = AliasMasker.from_config(run.corpus.aliases, cfg.attributor)
    return AttributorContext(target_path=str(run.target_dir), tokenizer=tokenizer,
                             template=cfg.data.template, chat_template=cfg.data.chat_template,
                             device=str(resolve_device(cfg.trainer)), seed=cfg.run.seed,
                             model_cfg=cfg.model, trainer_cfg=cfg.trainer,
                             log_dir=str(run.out / "logs"), sees=cfg.attributor.sees, masker=masker,
                             unmasked_corpus=run.corpus)


def _require(path: Path, what: str, run: Run) -> None:
    if not path.exists():
        raise DareUError(f"fit-attributor needs {what} at {path.parent}, which does not exist. Run "
                         "`dareu prepare RECIPE` with the same recipe and overrides first.")


def _fit(run: Run, attributor: Attributor, directory: Path, summary_key: str) -> dict:
    corpus = mask_corpus(run.corpus, attributor.context.masker)
    if attributor.target_sampling is not None:
        attributor.context.target_answers = sample_target_answers(
            attributor.context, attributor.target_sampling, corpus.owners)
    attributor.fit(corpus)
    result = dict(attributor.fit_report())
    result["score_ms_per_32"] = _scoring_ms(attributor, corpus)
    if is_rank_zero():
        with atomic_dir(directory) as tmp:
            attributor.save(tmp)
        update_summary(run.out, summary_key, {"name": attributor.name, **result})
    log.info("attributor %s: %s", attributor.name, result)
    return result


def sample_target_answers(ctx: AttributorContext, sampling: TargetSampling,
                          owners: list[str]) -> list[Record]:
    """The target's sampled answers to each record's prompt of `owners` (the unmasked prompts,
    which name the owner, as in the target's training), masked, each labelled with that owner."""
    import torch

    from dareu.config import ModelConfig
    from dareu.data.formatting import format_prompt
    from dareu.generation import generate
    from dareu.models import load_causal_lm

    if not ctx.target_path or ctx.tokenizer is None or ctx.unmasked_corpus is None:
        raise DareUError("sampling the target's answers needs the target model, its tokenizer and "
                         "the unmasked corpus: run `dareu prepare RECIPE` first.")
    records = ctx.unmasked_corpus.of(owners)
    model = load_causal_lm(ctx.target_path, ctx.model_cfg or ModelConfig(), mode="full",
                           device=ctx.device, trainable=False)
    prompts = [format_prompt(r.prompt, ctx.tokenizer, ctx.template, ctx.chat_template)
               for r in records for _ in range(sampling.per_prompt)]
    torch.manual_seed(ctx.seed)
    answers = generate(model, ctx.tokenizer, prompts, sampling.max_new_tokens, batch_size=64,
                       do_sample=True, temperature=sampling.temperature)
    del model
    out = []
    for k, answer in enumerate(answers):
        r = records[k // sampling.per_prompt]
        if answer.strip():
            out.append(Record(f"{r.id}/sample{k % sampling.per_prompt}", r.owner,
                              ctx.mask(r.prompt), ctx.mask(answer)))
    log.info("fit-attributor: %d sampled answers of the target for %s", len(out), ctx.target_path)
    return out


def _scoring_ms(attributor: Attributor, corpus) -> float:
    """Milliseconds to score 32 responses in one call (the RL reward's cost per batch)."""
    records = (corpus.records * 32)[:32]  # small corpora repeat
    prompts, responses = [r.prompt for r in records], [r.response for r in records]
    attributor.score(prompts, responses)  # warm-up (lazy init, allocator)
    t0 = time.perf_counter()
    attributor.score(prompts, responses)
    return round((time.perf_counter() - t0) * 1000, 1)
