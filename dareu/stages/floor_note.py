"""The report's note on where DareU stopped: its floor beside the oracle's and target's mass."""

from __future__ import annotations

from dareu.io import read_json
from dareu.pipeline import Run


def _mass(v) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "—"


def floor_note(run: Run, models: dict[str, dict]) -> str | None:
    """Where DareU stopped: its floor, measured before unlearning, beside the oracle's and the
    target's forget mass (None when DareU has not run)."""
    marker = run.marker("unlearn-dareu")
    result = (read_json(marker) or {}).get("result", {}) if marker.is_file() else {}
    if result.get("floor") is None:
        return None
    oracle, target = (models.get(m, {}).get("forget_attribution_mass") for m in ("oracle", "target"))
    ran = result.get("steps_run")
    return (f"DareU's floor, measured before unlearning on what the target invents about people "
            f"it does not know: forget mass {_mass(result['floor'])} (the oracle's: "
            f"{_mass(oracle)}; the target's: {_mass(target)}). DareU "
            f"pushes a prompt only while its answers are above it"
            + (f", and ran {ran} of at most {result.get('steps')} steps." if ran is not None else "."))
