"""Our TOFU_EVAL.json read the way open-unlearning reads its own: forget quality, privleak and the
MIA AUCs recomputed from the field paths its code uses (evals/metrics/privacy.py `ks_test` and
`privleak`, evals/metrics/mia/utils.py `mia_auc`), with our oracle's file as its
`retain_logs_path`. Two tiny random models written by `evaluate_model`, no training."""

from __future__ import annotations

import json
from statistics import fmean

import pytest
from scipy.stats import ks_2samp

from dareu.config import EvalConfig, ModelConfig
from dareu.data.synthetic import synthetic_corpus
from dareu.eval.suite import evaluate_model
from dareu.eval.task import EvalTask
from dareu.models import build_tiny_model, train_tokenizer

MIA = ("mia_loss", "mia_min_k", "mia_zlib")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(model's TOFU_EVAL, its TOFU_SUMMARY, the oracle's TOFU_EVAL, per-item values, headline)."""
    out = tmp_path_factory.mktemp("ou")
    corpus = synthetic_corpus(num_owners=6, qa_per_owner=4, num_holdout_owners=1,
                              num_test_questions=4)
    tok = train_tokenizer(corpus.all_texts(), 300)
    model_cfg = ModelConfig(n_layer=1, n_embd=32, n_head=2, max_length=64)
    task = EvalTask(corpus, tok, EvalConfig(metrics=["mia"], max_new_tokens=4), max_length=64)
    evaluate_model(task, build_tiny_model(model_cfg, tok, seed=0), "oracle", out / "oracle")
    oracle = json.loads((out / "oracle" / "TOFU_EVAL.json").read_text())
    headline, items = evaluate_model(task, build_tiny_model(model_cfg, tok, seed=1), "npo",
                                     out / "npo", oracle_eval=oracle)
    ev = json.loads((out / "npo" / "TOFU_EVAL.json").read_text())
    summary = json.loads((out / "npo" / "TOFU_SUMMARY.json").read_text())
    return ev, summary, oracle, items, headline


def _scores(entry: dict) -> list[float]:
    return [v["score"] for v in entry["value_by_index"].values()]


def test_forget_quality_as_open_unlearning_computes_it(written):
    ev, summary, oracle, _, _ = written
    # ks_test: pre_compute forget_truth_ratio (access_key forget) against the retain model's logs
    expected = ks_2samp(_scores(ev["forget_truth_ratio"]), _scores(oracle["forget_truth_ratio"])).pvalue
    assert ev["forget_quality"]["agg_value"] == pytest.approx(expected)
    assert summary["forget_quality"] == ev["forget_quality"]["agg_value"]


def test_privleak_as_open_unlearning_computes_it(written):
    ev, summary, oracle, _, headline = written
    # privleak: pre_compute mia_min_k (access_key forget), the retain model's mia_min_k (retain)
    score, ref = 1 - ev["mia_min_k"]["agg_value"], 1 - oracle["mia_min_k"]["agg_value"]
    assert ev["privleak"]["agg_value"] == pytest.approx((score - ref) / (ref + 1e-10) * 100)
    assert summary["privleak"] == headline["privleak"] == ev["privleak"]["agg_value"]


@pytest.mark.parametrize("key", MIA)
def test_mia_entries_in_open_unlearning_layout(written, key):
    roc_auc_score = pytest.importorskip("sklearn.metrics").roc_auc_score
    ev, summary, _, items, headline = written
    entry = ev[key]
    assert set(entry) == {"forget", "holdout", "auc", "agg_value"}
    forget, holdout = _scores(entry["forget"]), _scores(entry["holdout"])
    assert entry["forget"]["agg_value"] == pytest.approx(fmean(forget))
    assert entry["holdout"]["agg_value"] == pytest.approx(fmean(holdout))
    # mia_auc: forget labelled 0, holdout 1, AUC written as both `auc` and `agg_value`
    auc = roc_auc_score([0] * len(forget) + [1] * len(holdout), forget + holdout)
    assert entry["auc"] == entry["agg_value"] == pytest.approx(auc)
    assert summary[key] == entry["agg_value"] == headline[f"mia_auc_{key[4:]}"]
    splits = {v["split"] for v in items[key].values()}  # per item: both splits, tagged
    assert splits == {"forget", "holdout"} and len(items[key]) == len(forget) + len(holdout)


def test_extraction_strength_entry(written):
    ev, summary, _, _, headline = written
    es = ev["extraction_strength"]
    assert es["agg_value"] == pytest.approx(fmean(_scores(es)))
    assert summary["extraction_strength"] == headline["extraction_strength"] == es["agg_value"]
