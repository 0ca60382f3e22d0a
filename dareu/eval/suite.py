"""Evaluate one model on forget / retain / test / holdout and write its results.

Writes `<out_dir>/TOFU_EVAL.json` (per metric: `agg_value` and `value_by_index` keyed by record
id; MIA metrics as open-unlearning nests them), `TOFU_SUMMARY.json` (the aggregates) and caches
each metric group under `<out_dir>/parts/`. Metrics that compare with the oracle take the
oracle's own TOFU_EVAL, so the oracle is evaluated first (the evaluate stage does that, and merges
each headline into `summary.json`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from transformers import PreTrainedModel

from dareu.config import attributor_slug
from dareu.distributed import is_rank_zero
from dareu.errors import DareUError
from dareu.eval import measure
from dareu.eval.fingerprint import weights_fingerprint
from dareu.eval.sets import EvalSets, eval_sets
from dareu.eval.task import EvalTask, FittedAttributor
from dareu.eval.tofu_eval import per_item, rouge_summary, tofu_eval
from dareu.io import atomic_write_json

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
ORACLE_FIGURES = ("forget_quality", "privleak", "tow")  # computed against the oracle's own result
EVAL_VERSION = 2
"""Bumped when a metric or the TOFU_EVAL.json layout changes, so evaluation stages and score
caches made before are redone (2: extraction strength and Min-K% without the answer's EOS; MIA
entries in open-unlearning's {forget, holdout, auc, agg_value})."""


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


def evaluate_model(task: EvalTask, model: PreTrainedModel, name: str, out_dir: str | Path | None = None,
                   judge: Judge | None = None, oracle_eval: dict | None = None,
                   fingerprint: str | None = None) -> tuple[dict[str, Any], dict[str, dict]]:
    """All metrics of `model` (called `name`): (headline summary, per-item values per metric).

    `out_dir`: where TOFU_EVAL.json, TOFU_SUMMARY.json and the per-metric caches go (None: nothing
    is written). `judge` scores fluency (the oracle; None: fluency is not measured). `oracle_eval`:
    the oracle's own TOFU_EVAL, for forget quality, privleak and ToW (None: those are None, unless
    `name` is `oracle`, which is compared with itself). `fingerprint` identifies the model for the
    caches (default: a hash of its weights).
    """
    fingerprint = fingerprint or weights_fingerprint(model)
    sets = eval_sets(task.corpus, task.cfg.max_items)
    if "mia" not in task.cfg.metrics:
        sets.holdout = []  # holdout records serve membership inference only
    out = Path(out_dir) if out_dir is not None else None
    m = _measure(task, model, name, sets, fingerprint, judge, out / "parts" if out else None)
    if oracle_eval is None and name != ORACLE:
        oracle_eval = {}  # no oracle to compare with: those metrics stay out (tofu_eval: None = self)
        for key in ORACLE_FIGURES:
            m["unavailable"][key] = "no oracle evaluation was given to compare with"
    ev = tofu_eval(sets, m, oracle_eval)
    summary = headline(ev, sets, list(task.extra_mass))
    # always written (maybe empty), so a rerun that filled a gap clears its old reason
    summary["unavailable"] = unavailable(summary, task.cfg.metrics, sets, m["unavailable"])
    for key, why in summary["unavailable"].items():
        log.warning("eval %s: %s unavailable: %s", name, key, why)
    if out is not None and is_rank_zero():
        atomic_write_json(out / "TOFU_EVAL.json", ev)
        atomic_write_json(out / "TOFU_SUMMARY.json", {k: v["agg_value"] for k, v in ev.items()})
    log.info("eval %s: %s", name, {k: _short(v) for k, v in summary.items() if v is not None})
    return summary, {k: per_item(v) for k, v in ev.items()}


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


def _measure(task: EvalTask, model: PreTrainedModel, name: str, sets: EvalSets, fingerprint: str,
             judge: Judge | None, parts: Path | None) -> dict[str, Any]:
    """Each metric group from its cache under `parts`, or computed (and cached there)."""
    e = task.cfg
    base = [fingerprint, *task.data_key, e.max_items]
    answers_key = base + [e.max_new_tokens]
    m: dict[str, Any] = {
        "answers": measure.cached(_part(parts, "answers"), answers_key,
                                  lambda: measure.answers(task, model, sets)),
        "scores": measure.cached(_part(parts, "scores"),
                                 base + [task.max_length, e.mia_k, bool(sets.holdout), EVAL_VERSION],
                                 lambda: measure.teacher_forced(task, model, sets)),
        "fluency": None, "mass": None, "extra_mass": {}, "unavailable": {},
    }
    forget_answers = m["answers"].get("forget", [])
    if not forget_answers:
        for key in ("fluency_ppl", MASS, *(mass_key(a) for a in task.extra_mass)):
            m["unavailable"][key] = "the evaluation has no forget answers to score"
    if "fluency" in e.metrics and forget_answers:
        if judge is None:
            m["unavailable"]["fluency_ppl"] = "no judge model was given to score the answers with"
        else:
            m["fluency"] = measure.cached(
                _part(parts, "fluency"), answers_key + [judge.fingerprint, task.max_length],
                lambda: measure.fluency(task, judge.model, sets, forget_answers))
    if "attribution" in e.metrics and forget_answers:
        m["mass"] = _mass(task.mass, MASS, name, _part(parts, "mass"), answers_key, sets,
                          forget_answers, m["unavailable"])
        m["extra_mass"] = _extra_mass(task, name, parts, answers_key, sets, forget_answers, m["mass"],
                                      m["unavailable"])
    return m


def _part(parts: Path | None, group: str) -> Path | None:
    return parts / f"{group}.json" if parts is not None else None


def _mass(attributor: FittedAttributor | None, key_name: str, model: str, path: Path | None,
          answers_key: list, sets: EvalSets, forget_answers: list[str],
          gaps: dict[str, str]) -> list[float] | None:
    """Per-item forget mass under one fitted attributor (None, its reason in `gaps`, when it is
    not available)."""
    if attributor is None or attributor.load is None:
        gaps[key_name] = attributor.missing if attributor else "no attributor was given (EvalTask.mass)"
        return None

    def compute() -> list[float]:
        t0 = time.perf_counter()
        mass = measure.attribution_mass(attributor.load(), sets, forget_answers)
        log.info("eval %s: %s in %.1f s", model, key_name, time.perf_counter() - t0)
        return mass

    return measure.cached(path, answers_key + attributor.key, compute)


def _extra_mass(task: EvalTask, model: str, parts: Path | None, answers_key: list, sets: EvalSets,
                forget_answers: list[str], reward_mass: list[float] | None,
                gaps: dict[str, str]) -> dict[str, list[float]]:
    """{attributor slug: per-item forget mass} for each attributor of eval.attributors, on the
    same greedy forget answers; the reward's attributor reuses `reward_mass`."""
    out = {}
    for name, attributor in task.extra_mass.items():
        slug = attributor_slug(name)
        if attributor is task.mass:
            if reward_mass is not None:
                out[slug] = reward_mass
            else:
                gaps[mass_key(name)] = gaps.get(MASS, "the reward's attributor gave no mass")
            continue
        mass = _mass(attributor, mass_key(name), model, _part(parts, f"mass_{slug}"), answers_key,
                     sets, forget_answers, gaps)
        if mass is not None:
            out[slug] = mass
    return out


def _short(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v
