"""Turn one model's measurements (and the oracle's) into open-unlearning's TOFU_EVAL layout.

Pure: no model, no I/O. Each metric is `{"agg_value": float | None, "value_by_index": {record
id: {...}}}` with open-unlearning's metric keys and per-item field names (`prob`, `avg_loss`,
`rougeL_recall`, `score`), so numbers compare with theirs; an MIA metric is, as there,
`{"forget": {...}, "holdout": {...}, "auc", "agg_value"}` (the AUC twice). Metrics that need the oracle
(forget_quality, privleak, tow) are computed against the oracle's own result; evaluating the
oracle against itself gives forget_quality = 1, tow = 1 and privleak = 0 by construction.
"""

from __future__ import annotations

import math
from statistics import fmean
from typing import Any

from dareu.eval.metrics import (answer_prob, forget_quality, mia_auc, model_utility,
                                normalised_option_prob, privleak, rouge_l_recall, truth_ratio,
                                truth_ratio_forget_agg, truth_ratio_utility_agg, tug_of_war,
                                zlib_entropy)
from dareu.eval.sets import EvalSets

Entry = dict[str, Any]
Measurements = dict[str, Any]
"""{"answers": {split: [str]}, "scores": {split: {...}}, "fluency": {...} | None, "mass": [...] | None,
"extra_mass": {attributor slug: [...]}} (extra_mass: eval.attributors, optional)"""


def _entry(agg: float | None, by_index: dict | None = None) -> Entry:
    return {"agg_value": agg, "value_by_index": by_index or {}}


def _mean(xs: list[float]) -> float | None:
    return fmean(xs) if xs else None


def tofu_eval(sets: EvalSets, m: Measurements, oracle_eval: dict[str, Entry] | None) -> dict[str, Entry]:
    """Every metric of one model; `oracle_eval` is the oracle's result (None: this is the oracle)."""
    ev: dict[str, Entry] = {}
    for split, recs in sets.generation_splits().items():
        if split in m["answers"]:
            ev.update(_rouge(split, recs, m["answers"][split]))
    sc = m["scores"]
    for split in ("forget", "retain"):
        if split in sc:
            ev.update(_probs(split, sc[split], tr_key="forget_truth_ratio" if split == "forget"
                             else "retain_Truth_Ratio"))
    for prefix in sets.tests:
        ev.update(_test_probs(prefix, sc[prefix]))
    for split, key in (("forget", "extraction_strength"), ("retain", "retain_extraction_strength")):
        if split in sc:
            ev[key] = _by_id(sc[split]["id"], sc[split]["es"], "score", agg=_mean)
    if "forget" in sc and "holdout" in sc:
        ev.update(_mia(sets, sc))
    if m.get("fluency"):
        ev.update(_fluency(sc["forget"]["id"], m["fluency"]))
    if m.get("mass") is not None:
        ev["forget_attribution_mass"] = _by_id(sc["forget"]["id"], m["mass"], "score", agg=_mean)
    for slug, mass in (m.get("extra_mass") or {}).items():  # the same answers, other attributors
        ev[f"forget_attribution_mass_{slug}"] = _by_id(sc["forget"]["id"], mass, "score", agg=_mean)
    ev.update(_against_oracle(sets, ev, ev if oracle_eval is None else oracle_eval))
    return ev


def _by_id(ids: list[str], values: list, field: str, agg) -> Entry:
    return _entry(agg(list(values)), {i: {field: v} for i, v in zip(ids, values)})


def _rouge(split: str, recs: list, answers: list[str]) -> dict[str, Entry]:
    scores = rouge_l_recall(answers, [r.response for r in recs])
    by = {r.id: {"rougeL_recall": s, "generation": a, "ground_truth": r.response}
          for r, a, s in zip(recs, answers, scores)}
    return {f"{split}_Q_A_ROUGE": _entry(_mean(scores), by)}


def _probs(split: str, s: dict, tr_key: str) -> dict[str, Entry]:
    """Q_A_Prob, PARA/PERT probs and the truth ratio of a forget- or retain-style split."""
    out = {f"{split}_Q_A_Prob": _prob_entry(s["id"], s["nll"])}
    tr_ids = [i for i, para, pert in zip(s["id"], s["para_nll"], s["pert_nll"]) if para is not None and pert]
    para = [p for p in s["para_nll"] if p is not None]
    if para:
        out[f"{split}_Q_A_PARA_Prob"] = _prob_entry([i for i, p in zip(s["id"], s["para_nll"])
                                                     if p is not None], para)
    out.update(_pert_entry(f"{split}_Q_A_PERT_Prob", s))
    if tr_ids:
        ratios = _truth_ratios(s)
        agg = truth_ratio_forget_agg if split == "forget" else truth_ratio_utility_agg
        out[tr_key] = _entry(agg(list(ratios.values())), {i: {"score": r} for i, r in ratios.items()})
    return out


def _test_probs(prefix: str, s: dict) -> dict[str, Entry]:
    """A general test set: the true option is the paraphrased answer when the record has one (TOFU
    sets it to the answer), so it is phrased like the perturbed options it is compared with."""
    correct = [p if p is not None else n for p, n in zip(s["para_nll"], s["nll"])]
    s = {**s, "para_nll": correct}
    out = {f"{prefix}_Q_A_Prob": _prob_entry(s["id"], s["nll"])}
    out.update(_pert_entry(f"{prefix}_Q_A_PERT_Prob", s))
    keep = [k for k, pert in enumerate(s["pert_nll"]) if pert]
    if keep:
        norm = [float(normalised_option_prob([correct[k]], [s["pert_nll"][k]])[0]) for k in keep]
        out[f"{prefix}_Q_A_Prob_normalised"] = _by_id([s["id"][k] for k in keep], norm, "prob", _mean)
        ratios = _truth_ratios(s)
        out[f"{prefix}_Truth_Ratio"] = _entry(truth_ratio_utility_agg(list(ratios.values())),
                                              {i: {"score": r} for i, r in ratios.items()})
    return out


def _prob_entry(ids: list[str], nll: list[float]) -> Entry:
    probs = answer_prob(nll)
    return _entry(_mean(probs), {i: {"prob": p, "avg_loss": n} for i, p, n in zip(ids, probs, nll)})


def _pert_entry(key: str, s: dict) -> dict[str, Entry]:
    by = {i: {"prob": answer_prob(pert), "avg_loss": pert} for i, pert in zip(s["id"], s["pert_nll"]) if pert}
    if not by:
        return {}
    return {key: _entry(_mean([p for v in by.values() for p in v["prob"]]), by)}


def _truth_ratios(s: dict) -> dict[str, float]:
    """Per item R = P_wrong / P_correct (items may have different numbers of perturbed answers)."""
    return {i: float(truth_ratio([para], [pert])[0])
            for i, para, pert in zip(s["id"], s["para_nll"], s["pert_nll"]) if para is not None and pert}


def _mia(sets: EvalSets, sc: dict) -> dict[str, Entry]:
    """LOSS / Min-K% / zlib scores of forget (label 0) vs holdout (label 1) and their AUC, in
    open-unlearning's layout: {"forget": entry, "holdout": entry, "auc", "agg_value": auc}, each
    entry the mean score and {"score"} per record."""
    f, h = sc["forget"], sc["holdout"]
    texts = {r.id: r.response for r in [*sets.forget, *sets.holdout]}

    def zlib_scores(s: dict) -> list[float]:
        return [n / zlib_entropy(texts[i]) for i, n in zip(s["id"], s["nll"])]

    out = {}
    for key, pick in (("mia_loss", lambda s: s["nll"]), ("mia_min_k", lambda s: s["min_k"]),
                      ("mia_zlib", zlib_scores)):
        fs, hs = pick(f), pick(h)
        auc = mia_auc(fs, hs)
        out[key] = {"forget": _by_id(f["id"], fs, "score", agg=_mean),
                    "holdout": _by_id(h["id"], hs, "score", agg=_mean), "auc": auc, "agg_value": auc}
    return out


def per_item(entry: Entry) -> dict[str, dict]:
    """{record id: values} of one metric; an MIA entry pools its forget and holdout records,
    each tagged with its `split`."""
    if "value_by_index" in entry:
        return entry["value_by_index"]
    return {i: {**v, "split": split} for split in ("forget", "holdout")
            for i, v in entry.get(split, {}).get("value_by_index", {}).items()}


def _fluency(ids: list[str], fl: dict) -> dict[str, Entry]:
    """Perplexity of the forget answers under the oracle (token-weighted) and their length."""
    total = sum(n * t for n, t in zip(fl["nll"], fl["tokens"]))
    ppl = math.exp(total / sum(fl["tokens"])) if fl["tokens"] else None
    return {"fluency_ppl": _entry(ppl, {i: {"score": math.exp(n)} for i, n in zip(ids, fl["nll"])}),
            "answer_len": _by_id(ids, fl["words"], "score", agg=_mean)}


def _against_oracle(sets: EvalSets, ev: dict[str, Entry], oracle: dict[str, Entry]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    tr = "forget_truth_ratio"
    if tr in ev and tr in oracle:
        out["forget_quality"] = _entry(forget_quality(_scores(ev[tr]), _scores(oracle[tr])))
    if "mia_min_k" in ev and "mia_min_k" in oracle:  # open-unlearning's privleak uses Min-K%
        out["privleak"] = _entry(privleak(ev["mia_min_k"]["agg_value"], oracle["mia_min_k"]["agg_value"]))
    a, a_oracle = rouge_summary(ev, sets), rouge_summary(oracle, sets)
    keys = [k for k in ("forget", "retain", "test") if a.get(k) is not None and a_oracle.get(k) is not None]
    if keys:
        out["tow"] = _entry(tug_of_war(a, a_oracle, keys))
    parts = utility_parts(ev, sets)
    if parts:
        out["model_utility"] = _entry(model_utility(parts))
    return out


def _scores(entry: Entry) -> list[float]:
    return [v["score"] for v in entry["value_by_index"].values()]


def rouge_summary(ev: dict[str, Entry], sets: EvalSets) -> dict[str, float | None]:
    """Mean ROUGE-L recall on forget, retain and all test sets pooled (ToW's a(·))."""
    test = [v["rougeL_recall"] for p in sets.tests if f"{p}_Q_A_ROUGE" in ev
            for v in ev[f"{p}_Q_A_ROUGE"]["value_by_index"].values()]
    return {"forget": ev.get("forget_Q_A_ROUGE", {}).get("agg_value"),
            "retain": ev.get("retain_Q_A_ROUGE", {}).get("agg_value"), "test": _mean(test)}


def utility_parts(ev: dict[str, Entry], sets: EvalSets) -> dict[str, float]:
    """The numbers model utility is the harmonic mean of: {prob, ROUGE, truth ratio} on retain
    and on each test set (normalised option prob there), as in TOFU."""
    keys = ["retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_Truth_Ratio"]
    for p in sets.tests:
        keys += [f"{p}_Q_A_Prob_normalised", f"{p}_Q_A_ROUGE", f"{p}_Truth_Ratio"]
    return {k: ev[k]["agg_value"] for k in keys if k in ev}
