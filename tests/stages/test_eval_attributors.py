"""`eval.attributors`: extra attributors fitted beside the reward's and measured on every model.

One tiny `dareu run` (prepare → fit-attributor → unlearn → evaluate → report) with DareU and
`eval.attributors=[influence, trak, classifier]`: classifier is the reward's attributor and must
be reused, influence and TRAK are fitted into attributors/<name>/ as their own stages.
"""

from __future__ import annotations

import shutil

import pytest
import torch

from conftest import TINY_RUN
from dareu.config import load_config
from dareu.io import read_json
from dareu.pipeline import Run
from dareu.stages import fit_attributor as fit_mod
from dareu.stages import report as report_mod
from dareu.stages.run_all import run_all

EXTRA = ["influence", "trak"]
OVERRIDES = [o for o in TINY_RUN if not o.startswith("eval.metrics=")] + [
    "eval.metrics=[attribution]", "eval.attributors=[influence,trak,classifier]",
    "unlearn.methods=[dareu]", "unlearn.steps=1", "unlearn.sampling.prompts_per_step=2",
    "unlearn.sampling.group_size=2", "unlearn.sampling.max_new_tokens=8", "unlearn.retain.batch_size=2",
    "unlearn.objective.epochs=1"]
MODELS = ("oracle", "target", "dareu")


def tiny_run(out, *extra: str) -> Run:
    return Run(load_config(None, OVERRIDES + [f"run.output_dir={out}", *extra]))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_attributors")
    threads = torch.get_num_threads()
    run_all(tiny_run(out))
    yield out
    torch.set_num_threads(threads)  # run.threads=1 set the process-wide count


def test_extra_attributors_are_fitted_as_their_own_stages(done):
    run = tiny_run(done)
    for name in EXTRA:
        meta = read_json(done / "attributors" / name / "attributor.json")
        assert meta["name"] == name and sorted(meta["owners"]) == sorted(run.corpus.owners)
        assert read_json(run.marker(f"attributor-{name}"))["hash"]
        assert read_json(done / "summary.json")["models"][f"attributor_{name}"]["name"] == name
    assert not (done / "attributors" / "classifier").exists()  # the reward's one is reused
    assert not run.marker("attributor-classifier").exists()
    assert read_json(done / "attributor" / "attributor.json")["name"] == "classifier"


def test_summary_has_the_mass_under_each_attributor(done):
    models = read_json(done / "summary.json")["models"]
    for model in MODELS:
        s = models[model]
        for name in EXTRA:
            v = s[f"forget_attribution_mass_{name}"]
            assert isinstance(v, float) and 0 <= v <= 1, (model, name, v)
        # the reward's attributor named again is the reward's own number, not a second fit
        assert s["forget_attribution_mass_classifier"] == s["forget_attribution_mass"]


def test_per_item_values_have_the_shape_of_the_reward_mass(done):
    run = tiny_run(done)
    forget_ids = {r.id for r in run.corpus.forget}
    for model in MODELS:
        ev = read_json(run.eval_dir(model) / "TOFU_EVAL.json")
        for name in EXTRA:
            entry = ev[f"forget_attribution_mass_{name}"]
            assert set(entry) == set(ev["forget_attribution_mass"]) == {"agg_value", "value_by_index"}
            assert set(entry["value_by_index"]) == forget_ids
            scores = [v["score"] for v in entry["value_by_index"].values()]
            assert entry["agg_value"] == pytest.approx(sum(scores) / len(scores))


def test_report_shows_a_column_per_attributor(done):
    md = (done / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| model |"))
    assert ("| forget mass | forget mass (influence) | forget mass (trak) | "
            "forget mass (classifier) | forget ROUGE |") in header
    row = next(line for line in md.splitlines() if line.startswith("| dareu |"))
    assert "**" in row  # the only unlearned model is the best of every column it has a value in
    assert "plots/forget_mass_distribution.png" in md


def test_rerun_skips_the_fits_and_reward_options_do_not_refit_the_extras(done, tmp_path,
                                                                          monkeypatch):
    shutil.copytree(done, tmp_path / "run")
    out = tmp_path / "run"
    stamp = (out / "attributors" / "trak" / "attributor.json").stat().st_mtime_ns
    fitted = []
    fit = fit_mod._fit
    monkeypatch.setattr(fit_mod, "_fit", lambda *a: fitted.append(a[1].name) or fit(*a))
    fit_mod.fit_attributor(tiny_run(out))
    assert fitted == []
    assert (out / "attributors" / "trak" / "attributor.json").stat().st_mtime_ns == stamp
    # a changed option of the reward's attributor refits it alone: the extras keep default options
    fit_mod.fit_attributor(tiny_run(out, "attributor.options.epochs=1"))
    assert fitted == ["classifier"]


def test_extra_mass_columns_mark_the_model_closest_to_the_oracle():
    models = {"oracle": {"forget_attribution_mass_influence": 0.2},
              "target": {"forget_attribution_mass_influence": 0.21},
              "a": {"forget_attribution_mass_influence": 0.0},
              "b": {"forget_attribution_mass_influence": 0.3}}
    columns = report_mod._columns(["influence"])
    col = [k for k, _, _ in columns].index("forget_attribution_mass_influence") + 1
    assert columns[col - 2][0] == "forget_attribution_mass"  # right after the reward's column
    assert columns[col - 1][1] == "forget mass (influence)"
    # b is 0.1 from the oracle, a 0.2 (the lowest mass is not the best); the target is no candidate
    assert {c for c in report_mod._best_cells(models, columns) if c[1] == col} == {(3, col)}
