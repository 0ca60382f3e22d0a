"""DareU's collapse watch: empty, near-deterministic or mostly degenerate answers for a few steps
in a row mean the policy is gaming the attributor; stop the run (exit code 5) or warn.

It keeps what it needs across steps (the streak and the reference's starting entropy) and puts
both into checkpoints (`state_dict`), so a resumed run counts on where it stopped.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable

from dareu.errors import PolicyCollapsed

log = logging.getLogger("dareu")


class CollapseWarning(UserWarning):
    """The policy's answers collapsed (near-empty or near-deterministic): reward hacking."""


class CollapseWatch:
    """One DareU run's collapse watch; `observe` once per rollout with its mean metrics."""

    MIN_LEN = 2.0
    """Mean response length (tokens, EOS included) under which a step counts as collapsed."""
    MIN_ENTROPY = 0.05
    """Mean token entropy (nats) under which a step counts as collapsed."""
    MAX_DEGENERATE = 0.5
    """Share of a step's answers with a fluency penalty ≥ ½ above which the step counts as collapsed."""
    PATIENCE = 3
    """Consecutive collapsed steps before the run stops (or warns, with unlearn.on_collapse=warn)."""

    def __init__(self, on_collapse: str, where: Callable[[], str]) -> None:
        """`on_collapse`: unlearn.on_collapse (stop | warn); `where`: the checkpoint folder the
        stop message points to (read when it is raised: the trainer may not exist before)."""
        self.on_collapse, self.where = on_collapse, where
        self.streak = 0
        self.start_entropy: float | None = None  # the reference's own token entropy (first rollout)

    def observe(self, step: int, response_len: float, entropy: float, degenerate: float = 0.0) -> None:
        """Empty (short), near-deterministic, or mostly degenerate answers (the fluency guard's
        penalty ≥ ½ for most of them) for PATIENCE steps in a row: stop, or warn."""
        if self.start_entropy is None:
            self.start_entropy = entropy
        # near-deterministic is a collapse only when the policy became so: a target that memorised
        # its forget answers starts there (0.006-0.05 nats on TOFU), and leaving that is the work
        deterministic = entropy < self.MIN_ENTROPY and self.start_entropy >= 2 * self.MIN_ENTROPY
        collapsed = response_len < self.MIN_LEN or deterministic or degenerate > self.MAX_DEGENERATE
        self.streak = self.streak + 1 if collapsed else 0
        if self.streak != self.PATIENCE:
            return
        stop = self.on_collapse == "stop"
        msg = (f"DareU: the policy collapsed for {self.PATIENCE} steps in a row at "
               f"step {step} (mean response length {response_len:.2f} tokens, "
               f"entropy {entropy:.3f} nats, {degenerate:.0%} of the answers degenerate under "
               "the reference): it is gaming the attributor with empty or degenerate answers. "
               "Raise unlearn.objective.beta, unlearn.retain.weight or unlearn.reward.fluency.weight, or lower "
               "unlearn.lr" + (f"; the last good checkpoint is kept in {self.where()}. "
                               "Set unlearn.on_collapse=warn to go on regardless." if stop else "."))
        if stop:
            raise PolicyCollapsed(msg)
        warnings.warn(msg, CollapseWarning, stacklevel=3)
        log.warning(msg)

    def state_dict(self) -> dict[str, Any]:
        return {"collapse_streak": self.streak, "start_entropy": self.start_entropy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.streak = int(state.get("collapse_streak", 0))
        self.start_entropy = state.get("start_entropy")
