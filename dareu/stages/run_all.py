"""`dareu run`: every stage in order — prepare → fit-attributor → unlearn → evaluate → report.

Each stage skips what is already up to date, so rerunning after a stop (or after editing the recipe)
redoes only what changed.
"""

from __future__ import annotations

from pathlib import Path

from dareu.pipeline import Run


def run_all(run: Run, resume: str | Path | None = None) -> dict:
    from dareu.stages.prepare import prepare

    results = {"prepare": prepare(run)}
    from dareu.stages.fit_attributor import fit_attributor

    results["fit_attributor"] = fit_attributor(run)
    from dareu.stages.unlearn import unlearn

    results["unlearn"] = unlearn(run, resume=resume)
    from dareu.stages.evaluate import evaluate

    results["evaluate"] = evaluate(run)
    from dareu.stages.report import report

    results["report"] = report(run)
    return results
