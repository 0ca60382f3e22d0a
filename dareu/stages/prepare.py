"""`dareu prepare`: tokenizer, target (all owners) and oracle (retain owners) models, their ROUGE.

A user who already has a target (and oracle) points `model.path` (`model.oracle_path`) at it and
the corresponding finetune is skipped.
"""

from __future__ import annotations

import gc
import logging

import lightning as L

from dareu.config import metric_settings
from dareu.errors import ConfigError
from dareu.io import atomic_dir, update_summary
from dareu.models import eval_mode
from dareu.pipeline import Run, is_rank_zero, model_key
from dareu.trainer import training_key

log = logging.getLogger("dareu")


def prepare(run: Run) -> dict:
    cfg = run.cfg
    if cfg.model.path and not cfg.model.oracle_path and not cfg.model.base_path:
        raise ConfigError("model.path is set (your own target) but model.oracle_path is not: set "
                          "model.oracle_path to a retain-only model, or model.base_path to the model "
                          "the target was finetuned from so DareU can finetune the oracle.")
    corpus = run.corpus
    key = [cfg.data, model_key(cfg), cfg.finetune, cfg.run.seed, *training_key(cfg.trainer)]
    if not (cfg.model.tokenizer_path or cfg.model.path or cfg.model.base_path):
        run.stage("tokenizer", key[:2] + [cfg.run.seed], lambda: _train_tokenizer(run),
                  outputs=[run.out / "tokenizer" / "tokenizer_config.json"])
    extra = corpus.test if cfg.finetune.include_test_sets else []
    if cfg.finetune.pretrain_owners:
        spare = corpus.pretraining(cfg.finetune.pretrain_owners)  # fails fast on too few owners
        run.stage("base", key, lambda: _finetune(run, "base", _with_name_swaps(run, spare) + extra,
                                                 pretraining=True),
                  outputs=[run.base_dir / "config.json"])
        key = key + [run.stage_hash("base")]
    if not cfg.model.path:
        run.stage("target", key, lambda: _finetune(run, "target", corpus.records + extra),
                  outputs=[run.target_dir / "config.json"])
    if not cfg.model.oracle_path:
        run.stage("oracle", key, lambda: _finetune(run, "oracle", corpus.retain + extra),
                  outputs=[run.oracle_dir / "config.json"])
    eval_key = key + [metric_settings(cfg.eval), run.stage_hash("target"), run.stage_hash("oracle"),
                      *(["nf4"] if eval_mode(cfg.model) == "qlora" else [])]
    summary = run.out / "summary.json"
    return run.stage("prepare-eval", eval_key, lambda: _evaluate_rouge(run),
                     outputs=[(summary, "models.target"), (summary, "models.oracle")])


def _with_name_swaps(run: Run, spare: list) -> list:
    """The spare owners' records, plus finetune.pretrain_name_swaps renamed copies of them (built
    only when the base stage runs, not when it is cached)."""
    swaps = run.cfg.finetune.pretrain_name_swaps
    if not swaps:
        return spare
    from dareu.data.name_swap import name_swapped

    return spare + name_swapped(spare, swaps, run.cfg.run.seed)


def _train_tokenizer(run: Run) -> dict:
    from dareu.models import train_tokenizer

    texts = run.corpus.all_texts()
    if run.cfg.finetune.pretrain_owners:  # the base reads the spare owners' text too
        texts += [t for r in run.corpus.pretraining(run.cfg.finetune.pretrain_owners)
                  for t in (r.prompt, r.response)]
    tok = train_tokenizer(texts, run.cfg.model.vocab_size)
    if is_rank_zero():
        with atomic_dir(run.out / "tokenizer") as tmp:
            tok.save_pretrained(tmp)
    run.__dict__.pop("tokenizer", None)
    return {"vocab_size": len(tok)}


def _finetune(run: Run, name: str, records: list, pretraining: bool = False) -> dict:
    """Train `name` on `records`: target or oracle from run.base_dir when there is one, else from
    scratch; with `pretraining`, the base itself (from scratch, finetune.pretrain_epochs)."""
    from dareu.data.modules import QADataModule
    from dareu.models import build_tiny_model, load_causal_lm, merged_model, is_peft
    from dareu.finetune import FinetuneModule
    from dareu.sharding import configure_fsdp2, full_state_dict
    from dareu.trainer import make_trainer, resolve_device

    cfg, ft = run.cfg, run.cfg.finetune
    L.seed_everything(cfg.run.seed, workers=True, verbose=False)
    base = None if pretraining else run.base_dir
    epochs = ft.pretrain_epochs if pretraining else ft.epochs
    if base is not None:
        device = resolve_device(cfg.trainer) if ft.mode == "qlora" else None  # 4-bit loads in place
        model = load_causal_lm(base, cfg.model, mode=ft.mode, device=device)
    else:
        model = build_tiny_model(cfg.model, run.tokenizer, cfg.run.seed)
    data = QADataModule(records, run.tokenizer, cfg.data.template, cfg.model.max_length,
                        ft.batch_size, cfg.run.seed, cfg.data.chat_template)
    module = FinetuneModule(model, ft.lr, ft.weight_decay, ft.warmup_ratio,
                            shard=lambda m: configure_fsdp2(m, name, m.model))  # FSDP2 only
    trainer = make_trainer(cfg.trainer, run.out / "logs", name, max_epochs=epochs)
    log.info("finetuning %s (%s, from %s) on %d records: %d epochs, lr %g, global batch %d (%d per "
             "rank × %d ranks)", name, ft.mode, base or "scratch", len(records),
             epochs, ft.lr, ft.batch_size * trainer.world_size, ft.batch_size, trainer.world_size)
    trainer.fit(module, datamodule=data)
    weights = full_state_dict(model)  # FSDP2: gathered onto rank 0 (every rank calls it)
    if trainer.is_global_zero:
        if is_peft(model):
            final, weights = merged_model(model, cfg.model, base, weights), None
        else:
            final = model
        with atomic_dir(run.out / name) as tmp:
            final.save_pretrained(tmp, safe_serialization=True, state_dict=weights)
            run.tokenizer.save_pretrained(tmp)
    loss = trainer.callback_metrics.get("train_loss")
    return {"records": len(records), "mode": ft.mode, "epochs": epochs, "lr": ft.lr,
            "optimizer_steps": int(trainer.global_step),
            "final_train_loss": round(float(loss), 4) if loss is not None else None}


def _evaluate_rouge(run: Run) -> dict:
    from dareu.eval.answers import rouge_by_split
    from dareu.eval.sets import spread
    from dareu.models import load_causal_lm
    from dareu.trainer import resolve_device

    cfg, corpus = run.cfg, run.corpus
    device = resolve_device(cfg.trainer)
    splits = {name: spread(records, cfg.eval.max_items) for name, records in
              (("forget", corpus.forget), ("retain", corpus.retain), ("test", corpus.test))}
    result = {}
    for name, path in (("target", run.target_dir), ("oracle", run.oracle_dir)):
        model = load_causal_lm(path, cfg.model, mode=eval_mode(cfg.model), device=device,
                               trainable=False)
        means, _ = rouge_by_split(model, run.tokenizer, splits, run.prompt_text,
                                  cfg.eval.max_new_tokens, cfg.eval.batch_size)
        del model  # one model in memory at a time
        gc.collect()
        if is_rank_zero():
            update_summary(run.out, name, means)
        log.info("%s: %s", name, means)
        result[name] = means
    return result
