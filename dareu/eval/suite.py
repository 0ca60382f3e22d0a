"""Evaluate one model on forget / retain / test / holdout and write its results.

Writes `eval/<model>/TOFU_EVAL.json` (per metric: `agg_value` and `value_by_index` keyed by record
id), `TOFU_SUMMARY.json` (the aggregates) and merges the headline figures into `summary.json`.
Metrics that compare with the oracle read `eval/oracle/TOFU_EVAL.json`, so the oracle is
evaluated first (the evaluate stage does that).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from transformers import PreTrainedModel

from dareu.config import attributor_slug
from dareu.errors import DareUError
from dareu.eval import measure
from dareu.eval.fingerprint import folder_fingerprint, weights_fingerprint
from dareu.eval.sets import EvalSets, eval_sets
from dareu.eval.tofu_eval import rouge_summary, tofu_eval
from dareu.io import atomic_write_json, read_json, update_summary
from dareu.pipeline import Run, is_rank_zero

log = logging.getLogger("dareu")

ORACLE = "oracle"
# summary.json key -> TOFU_EVAL key (test_rouge pools every test set, so it is computed apart)
HEADLINE = {
    "forget_quality": "forget_quality", "model_utility": "model_utility", "tow": "tow",
    "forget_attribution_mass": "forget_attribution_mass", "forget_rouge": "forget_Q_A_ROUGE",
    "retain_rouge": "retain_Q_A_ROUGE", "privleak": "privleak", "fluency_ppl": "fluency_ppl",
    "answer_len": "answer_len", "extraction_strength": "extraction_strength",
    "forget_truth_ratio": "forget_truth_ratio", "forget_prob": "forget_Q_A_Prob",
    "mia_auc_loss": "mia_loss", "mia_auc_min_k": "mia_min_k", "mia_auc_zlib": "mia_zlib",
}
HEADLINE_KEYS = (*HEADLINE, "test_rouge")
MASS = "forget_attribution_mass"


def mass_key(attributor: str) -> str:
    """The summary.json / TOFU_EVAL key of the forget mass under an extra attributor of
    eval.attributors (`forget_attribution_mass` itself is the reward's attributor)."""
    return f"{MASS}_{attributor_slug(attributor)}"


class EvaluationError(DareUError):
    """The evaluation cannot run as asked (e.g. the oracle has not been evaluated yet)."""


@dataclass
class Judge:
    """The model that scores the fluency of answers (the oracle), loaded on first use."""

    load: Callable[[], PreTrainedModel]
    fingerprint: str
    _model: PreTrainedModel | None = field(default=None, repr=False)

    @property
    def model(self) -> PreTrainedModel:
        if self._model is None:
            self._model = self.load()
        return self._model


def oracle_judge(run: Run) -> Judge:
    return Judge(lambda: load_for_eval(run, run.oracle_dir), eval_fingerprint(run, run.oracle_dir))


def eval_fingerprint(run: Run, path: Path) -> str:
    """The folder's fingerprint, marked when evaluation loads it in 4-bit (other numbers)."""
    from dareu.models import eval_mode

    return folder_fingerprint(path) + ("-nf4" if eval_mode(run.cfg.model) == "qlora" else "")


def load_for_eval(run: Run, path: Path) -> PreTrainedModel:
    """A model folder written by DareU (full, merged or adapter on the target), in 4-bit when the
    run unlearns on a 4-bit base (model.mode=qlora). Hub ids arrive resolved to their cache folder."""
    from dareu.models import eval_mode, load_trained
    from dareu.trainer import resolve_device

    # base_path: a method that saved only a LoRA adapter trained it on top of the target
    return load_trained(path, run.cfg.model, base_path=run.target_dir,
                        device=resolve_device(run.cfg.trainer), mode=eval_mode(run.cfg.model))


def evaluate_model(run: Run, model: PreTrainedModel, name: str, judge: Judge | None = None,
                   fingerprint: str | None = None) -> tuple[dict[str, Any], dict[str, dict]]:
    """All metrics of `model` (called `name`): (headline summary, per-item values per metric).

    `fingerprint` identifies the model for the per-metric caches (default: a hash of its
    weights); `judge` scores fluency (default: the oracle, loaded when first needed).
    """
    fingerprint = fingerprint or weights_fingerprint(model)
    if name == ORACLE and judge is None:
        judge = Judge(lambda: model, fingerprint)
    oracle_eval = None if name == ORACLE else _oracle_eval(run)
    sets = eval_sets(run.corpus, run.cfg.eval.max_items)
    if "mia" not in run.cfg.eval.metrics:
        sets.holdout = []  # holdout records serve membership inference only
    m = _measure(run, model, name, sets, fingerprint, judge or oracle_judge(run))
    ev = tofu_eval(sets, m, oracle_eval)
    summary = headline(ev, sets, run.cfg.eval.attributors)
    # always written (maybe empty), so a rerun that filled a gap clears its old reason
    summary["unavailable"] = unavailable(summary, run.cfg.eval.metrics, sets, m["unavailable"])
    for key, why in summary["unavailable"].items():
        log.warning("eval %s: %s unavailable: %s", name, key, why)
    if is_rank_zero():
        out = run.eval_dir(name)
        atomic_write_json(out / "TOFU_EVAL.json", ev)
        atomic_write_json(out / "TOFU_SUMMARY.json", {k: v["agg_value"] for k, v in ev.items()})
        update_summary(run.out, name, summary)
    log.info("eval %s: %s", name, {k: _short(v) for k, v in summary.items() if v is not None})
    return summary, {k: v["value_by_index"] for k, v in ev.items()}


def headline(ev: dict[str, dict], sets: EvalSets, attributors: Sequence[str] = ()) -> dict[str, Any]:
    """The figures merged into summary.json (None where a metric could not be computed), with
    the forget mass under each extra attributor of eval.attributors."""
    out = {k: ev[src]["agg_value"] if src in ev else None for k, src in HEADLINE.items()}
    out["test_rouge"] = rouge_summary(ev, sets)["test"]
    for name in attributors:
        key = mass_key(name)
        out[key] = ev[key]["agg_value"] if key in ev else None
    return out


# which eval.metrics group each optional headline figure needs
NEEDS_GROUP = {"mia_auc_loss": "mia", "mia_auc_min_k": "mia", "mia_auc_zlib": "mia",
               "privleak": "mia", "fluency_ppl": "fluency", MASS: "attribution"}


def unavailable(summary: dict[str, Any], metrics: Sequence[str], sets: EvalSets,
                reasons: dict[str, str]) -> dict[str, str]:
    """{figure: why it is None} for every headline figure that has no value, so that a gap in
    summary.json and the report always says why (never a silent blank)."""
    out = {}
    for key, value in summary.items():
        if value is not None:
            continue
        group = NEEDS_GROUP.get(MASS if key.startswith(MASS) else key)
        if group and group not in metrics:
            out[key] = f"not requested (eval.metrics has no `{group}`)"
        elif key in reasons:
            out[key] = reasons[key]
        elif group == "mia" and not sets.holdout:
            out[key] = "the corpus has no holdout owners, which membership inference compares with"
        elif key in ("forget_truth_ratio", "forget_quality"):
            out[key] = ("the forget records carry no paraphrased and perturbed answers, which the "
                        "truth ratio (and forget quality, its KS test) needs")
        elif key == "forget_prob" or key.startswith("forget_") and not sets.forget:
            out[key] = "the evaluation has no forget records"
        else:
            out[key] = "its inputs were not measured (see TOFU_EVAL.json for the parts present)"
    return out


def _oracle_eval(run: Run) -> dict:
    ev = read_json(run.eval_dir(ORACLE) / "TOFU_EVAL.json")
    if ev is None:
        raise EvaluationError(f"{run.eval_dir(ORACLE)}/TOFU_EVAL.json is missing: evaluate the "
                              "oracle first (`dareu evaluate` does, before every other model).")
    return ev


def _measure(run: Run, model: PreTrainedModel, name: str, sets: EvalSets, fingerprint: str,
             judge: Judge) -> dict[str, Any]:
    """Each metric group from its cache under eval/<name>/parts/, or computed and cached."""
    cfg, e = run.cfg, run.cfg.eval
    parts = run.eval_dir(name) / "parts"
    base = [fingerprint, cfg.data, cfg.run.seed, e.max_items]
    answers_key = base + [e.max_new_tokens]
    m: dict[str, Any] = {
        "answers": measure.cached(parts / "answers.json", answers_key,
                                  lambda: measure.answers(run, model, sets)),
        "scores": measure.cached(parts / "scores.json",
                                 base + [cfg.model.max_length, e.mia_k, bool(sets.holdout)],
                                 lambda: measure.teacher_forced(run, model, sets)),
        "fluency": None, "mass": None, "extra_mass": {}, "unavailable": {},
    }
    forget_answers = m["answers"].get("forget", [])
    if not forget_answers:
        for key in ("fluency_ppl", MASS, *(mass_key(a) for a in e.attributors)):
            m["unavailable"][key] = "the evaluation has no forget answers to score"
    if "fluency" in e.metrics and forget_answers:
        m["fluency"] = measure.cached(
            parts / "fluency.json", answers_key + [judge.fingerprint, cfg.model.max_length],
            lambda: measure.fluency(run, judge.model, sets, forget_answers))
    if "attribution" in e.metrics and forget_answers:
        m["mass"] = _mass(run, parts, answers_key, sets, forget_answers, m["unavailable"])
        m["extra_mass"] = _extra_mass(run, name, parts, answers_key, sets, forget_answers, m["mass"],
                                      m["unavailable"])
    return m


def _mass(run: Run, parts, answers_key: list, sets: EvalSets, forget_answers: list[str],
          gaps: dict[str, str]):
    if not (run.attributor_dir / "attributor.json").is_file():
        gaps[MASS] = (f"no fitted attributor in {run.attributor_dir} (run `dareu fit-attributor` "
                      "first)")
        return None
    key = answers_key + [run.cfg.attributor, folder_fingerprint(run.attributor_dir)]
    return measure.cached(parts / "mass.json", key,
                          lambda: measure.attribution_mass(run, sets, forget_answers))


def _extra_mass(run: Run, model: str, parts: Path, answers_key: list, sets: EvalSets,
                forget_answers: list[str], reward_mass: list[float] | None,
                gaps: dict[str, str]) -> dict[str, list[float]]:
    """{attributor slug: per-item forget mass} for each attributor of eval.attributors, on the
    same greedy forget answers; the reward's attributor reuses `reward_mass`."""
    out = {}
    for name in run.cfg.eval.attributors:
        slug = attributor_slug(name)
        if name == run.cfg.attributor.name:
            if reward_mass is not None:
                out[slug] = reward_mass
            else:
                gaps[mass_key(name)] = gaps.get(MASS, "the reward's attributor gave no mass")
            continue
        directory = run.eval_attributor_dir(name)
        if not (directory / "attributor.json").is_file():
            gaps[mass_key(name)] = (f"no fitted `{name}` attributor in {directory} (run `dareu "
                                    "fit-attributor` first)")
            continue
        # the masking / `sees` settings it was fitted with, not the reward attributor's options
        key = answers_key + [replace(run.cfg.attributor, name=name, options={}),
                             folder_fingerprint(directory)]
        out[slug] = measure.cached(parts / f"mass_{slug}.json", key,
                                   lambda d=directory, n=name: _timed_mass(run, model, n, d, sets,
                                                                           forget_answers))
    return out


def _timed_mass(run: Run, model: str, attributor: str, directory: Path, sets: EvalSets,
                forget_answers: list[str]) -> list[float]:
    t0 = time.perf_counter()
    mass = measure.attribution_mass(run, sets, forget_answers, directory)
    log.info("eval %s: forget mass under `%s` in %.1f s", model, attributor, time.perf_counter() - t0)
    return mass


def _short(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v
