"""The pure metric functions of the evaluation suite, in one namespace.

They live in tofu_metrics (ROUGE, probabilities, truth ratio, forget quality, model utility,
tug of war), mia (membership-inference scores, AUC, PrivLeak) and memorization (extraction
strength); import them from here or from dareu.eval.
"""

from dareu.eval.memorization import extraction_strength
from dareu.eval.mia import PRIVLEAK_EPS, mia_auc, mia_loss, mia_min_k, mia_zlib, privleak, zlib_entropy
from dareu.eval.tofu_metrics import (
    NLTK_AVAILABLE,
    answer_prob,
    forget_quality,
    model_utility,
    normalised_option_prob,
    rouge_l_recall,
    truth_ratio,
    truth_ratio_forget_agg,
    truth_ratio_utility_agg,
    tug_of_war,
)

__all__ = [
    "NLTK_AVAILABLE",
    "PRIVLEAK_EPS",
    "answer_prob",
    "extraction_strength",
    "forget_quality",
    "mia_auc",
    "mia_loss",
    "mia_min_k",
    "mia_zlib",
    "model_utility",
    "normalised_option_prob",
    "privleak",
    "rouge_l_recall",
    "truth_ratio",
    "truth_ratio_forget_agg",
    "truth_ratio_utility_agg",
    "tug_of_war",
    "zlib_entropy",
]
