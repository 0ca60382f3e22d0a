"""Evaluation suite. The pure metric functions are re-exported here (see dareu.eval.metrics)."""

from dareu.eval.metrics import *  # noqa: F401,F403
from dareu.eval.metrics import __all__  # noqa: F401
