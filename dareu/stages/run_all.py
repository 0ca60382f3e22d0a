"""`dareu run`: every stage in order — prepare → fit-attributor → unlearn → evaluate → attack →
report (attack does nothing unless eval.attacks names some).

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
    from dareu.stages.attack import attack

    results["attack"] = attack(run)
    from dareu.stages.report import report

    results["report"] = report(run)
    require_complete(run)
    return results


def require_complete(run: Run) -> None:
    """Fail (exit 4) naming every model of the recipe whose figures are not in summary.json: a
    run must never print "done" with a method silently missing from its results."""
    from dareu.errors import IncompleteRun
    from dareu.io import read_json
    from dareu.pipeline import is_rank_zero

    if not is_rank_zero():
        return
    models = (read_json(run.out / "summary.json", default={}) or {}).get("models", {})
    wanted = ["oracle", "target", *run.cfg.unlearn.methods]
    from dareu.stages.evaluate import has_model

    unsaved = [m for m in run.cfg.unlearn.methods if not has_model(run.method_dir(m))]
    missing = [m for m in wanted if m in unsaved or m not in models
               or not (run.eval_dir(m) / "TOFU_SUMMARY.json").is_file()]
    if missing:
        why = f"; no saved model for {', '.join(unsaved)}" if unsaved else ""
        raise IncompleteRun(f"the run ended without the evaluated figures of {', '.join(missing)} "
                            f"(each needs a saved model, an entry in {run.out / 'summary.json'} and "
                            f"{run.out}/eval/<model>/TOFU_SUMMARY.json{why}); see the log above for "
                            "the stage that did not produce them, and run `dareu run` again.")
