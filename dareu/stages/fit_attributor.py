"""`dareu fit-attributor`: fit the owner attributor on the alias-masked corpus and save it.

Runs after `dareu prepare` (it needs the run's tokenizer, and the target model when the attributor
reads it). Held-out accuracy / macro-F1 / ECE and the time to score 32 responses go to
summary.json under `models.attributor`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from attributors.base import Attributor, AttributorContext, build_attributor
from attributors.masking import AliasMasker, mask_corpus
from dareu.errors import DareUError
from dareu.io import atomic_dir, update_summary
from dareu.pipeline import Run, is_rank_zero, model_key

log = logging.getLogger("dareu")

STAGE = "attributor"


def fit_attributor(run: Run) -> dict:
    cfg = run.cfg
    attributor = build_attributor(cfg.attributor.name, cfg.attributor.options, _context(run))
    key = [cfg.data, cfg.attributor, model_key(cfg), cfg.run.seed]
    if attributor.uses_target:
        _require(run.target_dir / "config.json", "the target model", run)
        key.append(run.stage_hash("target"))
    if not (run.attributor_dir / "attributor.json").is_file():
        run.marker(STAGE).unlink(missing_ok=True)  # outputs gone: the marker must not skip the fit
    return run.stage(STAGE, key, lambda: _fit(run, attributor))


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


def _fit(run: Run, attributor: Attributor) -> dict:
    corpus = mask_corpus(run.corpus, attributor.context.masker)
    attributor.fit(corpus)
    result = dict(attributor.fit_report())
    result["score_ms_per_32"] = _scoring_ms(attributor, corpus)
    if is_rank_zero():
        with atomic_dir(run.attributor_dir) as tmp:
            attributor.save(tmp)
        update_summary(run.out, "attributor", {"name": attributor.name, **result})
    log.info("attributor %s: %s", attributor.name, result)
    return result


def _scoring_ms(attributor: Attributor, corpus) -> float:
    """Milliseconds to score 32 responses in one call (the RL reward's cost per batch)."""
    records = (corpus.records * 32)[:32]  # small corpora repeat
    prompts, responses = [r.prompt for r in records], [r.response for r in records]
    attributor.score(prompts, responses)  # warm-up (lazy init, allocator)
    t0 = time.perf_counter()
    attributor.score(prompts, responses)
    return round((time.perf_counter() - t0) * 1000, 1)
