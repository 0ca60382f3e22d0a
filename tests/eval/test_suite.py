"""The evaluation suite's bookkeeping, on hand-made measurements (no model): open-unlearning's
keys, per-item values by record id, the oracle's 1.0 by construction, cross-model aggregates,
the per-metric cache, and the evaluation sets."""

from __future__ import annotations

import math

import pytest
from scipy.stats import hmean, ks_2samp

from dareu.data.corpus import OwnerCorpus, Record
from dareu.eval import measure
from dareu.eval.sets import EvalSets, eval_sets, spread
from dareu.eval.suite import HEADLINE_KEYS, headline
from dareu.eval.tofu_eval import tofu_eval

LN2 = math.log(2)


def _rec(i: str, owner: str, para: bool = True, pert: int = 2) -> Record:
    return Record(id=i, owner=owner, prompt=f"Q {i}?", response=f"answer {i} here",
                  paraphrased_response=f"para {i}" if para else None,
                  perturbed_responses=tuple(f"wrong {i} {k}" for k in range(pert)))


SETS = EvalSets(forget=[_rec("f0", "a"), _rec("f1", "a")], retain=[_rec("r0", "b"), _rec("r1", "b")],
                tests={"general": [_rec("g0", "__general__"), _rec("g1", "__general__")]},
                holdout=[_rec("h0", "h"), _rec("h1", "h")])


def _scores(ids, nll, para, pert):
    return {"id": ids, "nll": nll, "tokens": [4] * len(ids), "min_k": [2 * n for n in nll],
            "es": [1.0, 0.5][:len(ids)], "para_nll": para, "pert_nll": pert}


def _measurements(forget_nll: float) -> dict:
    """Two items per split; probabilities are powers of 1/2 so every number is exact."""
    return {
        "answers": {"forget": ["answer f0 here", "nothing"], "retain": ["answer r0 here", "answer r1"],
                    "general": ["answer g0 here", "answer g1 here"]},
        "scores": {
            "forget": _scores(["f0", "f1"], [forget_nll] * 2, [LN2, 2 * LN2], [[2 * LN2, 2 * LN2], [LN2, LN2]]),
            "retain": _scores(["r0", "r1"], [LN2, LN2], [LN2, LN2], [[3 * LN2, 3 * LN2], [2 * LN2, 2 * LN2]]),
            "general": _scores(["g0", "g1"], [LN2, LN2], [LN2, LN2], [[2 * LN2, 2 * LN2], [3 * LN2, 3 * LN2]]),
            "holdout": _scores(["h0", "h1"], [3.0, 4.0], [None, None], [[], []]),
        },
        "fluency": {"nll": [LN2, 2 * LN2], "tokens": [1, 1], "words": [3, 1]},
        "mass": [0.9, 0.1],
    }


def test_open_unlearning_keys_and_hand_computed_values():
    ev = tofu_eval(SETS, _measurements(forget_nll=LN2), None)
    for key in ["forget_Q_A_Prob", "forget_Q_A_PARA_Prob", "forget_Q_A_PERT_Prob", "forget_Q_A_ROUGE",
                "forget_truth_ratio", "forget_quality", "retain_Q_A_Prob", "retain_Q_A_ROUGE",
                "retain_Truth_Ratio", "general_Q_A_Prob_normalised", "general_Truth_Ratio",
                "model_utility", "privleak", "extraction_strength", "tow", "fluency_ppl",
                "answer_len", "forget_attribution_mass"]:
        assert set(ev[key]) == {"agg_value", "value_by_index"}, key
    for key in ["mia_loss", "mia_min_k", "mia_zlib"]:  # open-unlearning's MIA layout
        assert set(ev[key]) == {"forget", "holdout", "auc", "agg_value"}, key
        assert ev[key]["auc"] == ev[key]["agg_value"]
        assert set(ev[key]["forget"]["value_by_index"]) == {"f0", "f1"}
        assert set(ev[key]["holdout"]["value_by_index"]) == {"h0", "h1"}
    assert ev["mia_loss"]["holdout"]["agg_value"] == pytest.approx(3.5)
    assert ev["mia_min_k"]["forget"]["value_by_index"]["f0"] == {"score": pytest.approx(2 * LN2)}
    assert set(ev["forget_Q_A_Prob"]["value_by_index"]) == {"f0", "f1"}
    assert ev["forget_Q_A_Prob"]["agg_value"] == pytest.approx(0.5)
    # truth ratio R = P_wrong / P_para: f0 (1/4)/(1/2) = 1/2, f1 (1/2)/(1/4) = 2; forget agg mean min(R, 1/R)
    assert ev["forget_truth_ratio"]["value_by_index"]["f0"]["score"] == pytest.approx(0.5)
    assert ev["forget_truth_ratio"]["value_by_index"]["f1"]["score"] == pytest.approx(2.0)
    assert ev["forget_truth_ratio"]["agg_value"] == pytest.approx(0.5)
    # retain R = (1/8)/(1/2) = 1/4 and (1/4)/(1/2) = 1/2; utility agg mean(max(0, 1 - R)) = 5/8
    assert ev["retain_Truth_Ratio"]["agg_value"] == pytest.approx(5 / 8)
    # general: normalised option prob (1/2) / (1/2 + 2 * 1/4) = 1/2 and (1/2) / (1/2 + 2/8) = 2/3
    assert ev["general_Q_A_Prob_normalised"]["agg_value"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # MIA: holdout losses (3, 4) above forget (ln 2): a perfect separation
    assert ev["mia_loss"]["agg_value"] == pytest.approx(1.0)
    assert ev["extraction_strength"]["agg_value"] == pytest.approx(0.75)
    # fluency: exp(token-weighted mean NLL) = exp(1.5 ln 2) = 2^1.5
    assert ev["fluency_ppl"]["agg_value"] == pytest.approx(2 ** 1.5)
    assert ev["answer_len"]["agg_value"] == pytest.approx(2.0)
    assert ev["forget_attribution_mass"]["agg_value"] == pytest.approx(0.5)
    parts = [ev[k]["agg_value"] for k in ["retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_Truth_Ratio",
                                          "general_Q_A_Prob_normalised", "general_Q_A_ROUGE",
                                          "general_Truth_Ratio"]]
    assert ev["model_utility"]["agg_value"] == pytest.approx(hmean(parts))


def test_the_oracle_against_itself_is_perfect_by_construction():
    ev = tofu_eval(SETS, _measurements(forget_nll=LN2), None)
    assert ev["forget_quality"]["agg_value"] == 1.0
    assert ev["tow"]["agg_value"] == 1.0
    assert ev["privleak"]["agg_value"] == pytest.approx(0.0)


def test_cross_model_aggregates_compare_with_the_oracle():
    oracle = tofu_eval(SETS, _measurements(forget_nll=LN2), None)
    m = _measurements(forget_nll=LN2)
    m["answers"]["forget"] = ["answer f0 here", "answer f1 here"]  # forget ROUGE 1 vs the oracle's 0.5
    m["scores"]["forget"]["para_nll"] = [0.0, 0.0]  # sure of the truth: R = 1/4 and 1/2
    m["scores"]["holdout"]["min_k"] = [0.1, 0.2]  # holdout below forget: AUC 0
    ev = tofu_eval(SETS, m, oracle)
    expected_ks = ks_2samp([0.25, 0.5], [0.5, 2.0]).pvalue
    assert ev["forget_quality"]["agg_value"] == pytest.approx(expected_ks)
    assert ev["tow"]["agg_value"] == pytest.approx(1 - 0.5)  # forget differs by 0.5, the rest equal
    # privleak = ((1 - 0) - (1 - 1)) / (1 - 1 + eps) * 100: huge, positive
    assert ev["privleak"]["agg_value"] > 1e6


def test_headline_has_every_key_even_without_optional_metrics():
    m = _measurements(forget_nll=LN2)
    m.update(fluency=None, mass=None)
    del m["scores"]["holdout"]
    sets = EvalSets(SETS.forget, SETS.retain, SETS.tests, holdout=[])
    h = headline(tofu_eval(sets, m, None), sets)
    assert set(h) == set(HEADLINE_KEYS)
    assert h["fluency_ppl"] is None and h["privleak"] is None and h["forget_attribution_mass"] is None
    assert h["forget_quality"] == 1.0 and h["test_rouge"] is not None


def test_extra_attributor_masses_become_per_item_entries_and_headline_keys():
    m = _measurements(forget_nll=LN2)
    m["extra_mass"] = {"influence": [0.2, 0.4], "trak": [1.0, 0.0]}
    ev = tofu_eval(SETS, m, None)
    for key, mean in (("forget_attribution_mass_influence", 0.3),
                      ("forget_attribution_mass_trak", 0.5)):
        assert set(ev[key]) == set(ev["forget_attribution_mass"])
        assert set(ev[key]["value_by_index"]) == {"f0", "f1"}
        assert ev[key]["agg_value"] == pytest.approx(mean)
    assert ev["forget_attribution_mass_influence"]["value_by_index"]["f1"] == {"score": 0.4}
    # the headline has one key per configured attributor; one not measured is None, not missing
    h = headline(ev, SETS, ["influence", "trak", "classifier"])
    assert h["forget_attribution_mass_influence"] == pytest.approx(0.3)
    assert h["forget_attribution_mass_trak"] == pytest.approx(0.5)
    assert h["forget_attribution_mass_classifier"] is None
    assert h["forget_attribution_mass"] == pytest.approx(0.5)  # still the reward's attributor
    assert set(headline(ev, SETS)) == set(HEADLINE_KEYS)  # none configured: no extra keys


def test_cached_recomputes_only_when_the_key_changes(tmp_path):
    path = tmp_path / "eval" / "m" / "parts" / "x.json"
    calls = []

    def compute():
        calls.append(1)
        return {"v": len(calls)}

    assert measure.cached(path, ["a", 1], compute) == {"v": 1}
    assert measure.cached(path, ["a", 1], compute) == {"v": 1}
    assert measure.cached(path, ["a", 2], compute) == {"v": 2}
    assert len(calls) == 2


def test_spread_is_even_and_stable():
    recs = [_rec(f"x{i}", f"o{i // 4}") for i in range(20)]
    picked = spread(recs, 5)
    assert [r.id for r in picked] == ["x0", "x4", "x8", "x12", "x16"]  # one per owner
    assert spread(recs, None) == recs and spread(recs, 50) == recs


def test_eval_sets_use_open_unlearning_prefixes_and_retain_perturbed_rows():
    forget = [_rec("f0", "a")]
    retain = [_rec("r0", "b"), _rec("r1", "b", para=False, pert=0)]
    corpus = OwnerCorpus("t", forget + retain, ["a"], ["b"], holdout=[_rec("h0", "h")],
                         test_sets={"real_authors": [_rec("ra0", "g")], "world_facts": [_rec("wf0", "g")]})
    sets = eval_sets(corpus, None)
    assert list(sets.tests) == ["ra", "wf"]
    assert [r.id for r in sets.retain] == ["r0"]  # TOFU scores retain on retain_perturbed
