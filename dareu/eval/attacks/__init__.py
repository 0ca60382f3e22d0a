"""Attacks that try to pull forgotten answers back out of a model (eval.attacks).

Each attack is a function `attack(model, AttackInputs) -> AttackResult` on plain objects; the
attack stage (dareu/stages/attack.py) runs it on every model, oracle and target included.
Definitions: docs/evaluation.md.
"""

from dareu.eval.attacks import paraphrase, priming, quantize, relearn, sampling
from dareu.eval.attacks.base import AttackInputs, AttackResult

ATTACKS = {"sampling": sampling.attack, "paraphrase": paraphrase.attack,
           "relearn": relearn.attack, "priming": priming.attack, "quantize": quantize.attack}
"""Name in eval.attacks -> attack function (the config checks names against the same list)."""
HEADLINE = {"sampling": "attack_sampling_rouge", "paraphrase": "attack_paraphrase_rouge",
            "relearn": "attack_relearn_rouge", "priming": "attack_priming_rouge",
            "quantize": "attack_quantize_rouge"}
"""The summary key of each attack's one column in the report's Robustness table."""

__all__ = ["ATTACKS", "AttackInputs", "AttackResult", "HEADLINE"]
