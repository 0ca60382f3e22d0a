"""`dareu evaluate`: the oracle, then the target, then every unlearned model, one stage each.

The oracle goes first because forget quality, privleak and ToW compare every model with it; it
also stays loaded as the judge that scores the fluency of the other models' answers. A model's
stage reruns when its folder, the oracle's, an attributor's (the reward's and those of
eval.attributors) or the evaluation settings change.
"""

from __future__ import annotations

import gc
import logging
from functools import cache
from pathlib import Path

import torch

from dareu.config import metric_settings
from dareu.eval.fingerprint import folder_fingerprint
from dareu.eval.suite import EVAL_VERSION, ORACLE, EvaluationError, Judge, evaluate_model
from dareu.eval.task import EvalTask
from dareu.io import read_json, update_summary
from dareu.pipeline import Run, is_rank_zero
from dareu.stages.objects import eval_fingerprint, eval_task, load_for_eval, oracle_judge

log = logging.getLogger("dareu")


def models_to_evaluate(run: Run) -> dict[str, Path]:
    """oracle, target, then each method of unlearn.methods that has saved a model."""
    models = {ORACLE: run.oracle_dir, "target": run.target_dir}
    for method in run.cfg.unlearn.methods:
        path = run.method_dir(method)
        if has_model(path):
            models[method] = path
        else:
            log.warning("evaluate: %s has no model in %s yet (run `dareu unlearn` first); skipped",
                        method, path)
    return models


def has_model(path: Path) -> bool:
    """A saved model (full, merged or adapter), not just the checkpoints of an unfinished run."""
    return any((path / f).is_file() for f in ("config.json", "merged/config.json",
                                              "adapter/adapter_config.json"))


def evaluate(run: Run) -> dict:
    cfg = run.cfg
    run.corpus  # noqa: B018  (build the corpus, and fail on a bad one, before loading any model)
    judge = oracle_judge(run)
    attributors = _attributor_fingerprints(run)
    task = cache(lambda: eval_task(run))  # built when a model is evaluated, after the extra fits
    results = {}
    for name, path in models_to_evaluate(run).items():
        fingerprint = eval_fingerprint(run, path)
        key = [metric_settings(cfg.eval), cfg.data, cfg.run.seed, cfg.model.max_length,
               cfg.attributor, fingerprint, judge.fingerprint, attributors, EVAL_VERSION]
        results[name] = run.stage(f"eval-{name}", key,
                                  lambda: _evaluate_one(run, task(), name, path, fingerprint, judge),
                                  outputs=[run.eval_dir(name) / "TOFU_SUMMARY.json",
                                           (run.out / "summary.json", f"models.{name}")])
    return results


def _attributor_fingerprints(run: Run):
    """The fitted attributors' folders the forget masses depend on: the reward's, and those of
    eval.attributors (fitted here first if missing, e.g. a run that added them after its fit)."""
    cfg = run.cfg
    if "attribution" not in cfg.eval.metrics:
        return None
    reward = folder_fingerprint(run.attributor_dir) if run.attributor_dir.exists() else None
    if not cfg.eval.attributors:
        return reward  # the same key as before eval.attributors existed: no needless rerun
    if run.attributor_dir.exists():
        from dareu.stages.fit_attributor import fit_eval_attributors

        fit_eval_attributors(run)  # each one a stage: skipped when up to date
    extra = {name: folder_fingerprint(run.eval_attributor_dir(name))
             for name in cfg.eval.attributors}
    return [reward, extra]


def _evaluate_one(run: Run, task: EvalTask, name: str, path: Path, fingerprint: str,
                  judge: Judge) -> dict:
    if not is_rank_zero():  # under a DDP launch every rank runs the stages; one evaluates
        return {}
    oracle_eval = None if name == ORACLE else _oracle_eval(run)
    model = judge.model if name == ORACLE else load_for_eval(run, path)
    summary, _ = evaluate_model(task, model, name, run.eval_dir(name), judge=judge,
                                oracle_eval=oracle_eval, fingerprint=fingerprint)
    update_summary(run.out, name, summary)
    if name != ORACLE:
        del model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return summary


def _oracle_eval(run: Run) -> dict:
    ev = read_json(run.eval_dir(ORACLE) / "TOFU_EVAL.json")
    if ev is None:
        raise EvaluationError(f"{run.eval_dir(ORACLE)}/TOFU_EVAL.json is missing: evaluate the "
                              "oracle first (`dareu evaluate` does, before every other model).")
    return ev
