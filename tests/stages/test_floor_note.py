"""The report says where DareU stopped: its floor beside the oracle's and the target's mass."""

from dareu.config import load_config
from dareu.io import atomic_write_json
from dareu.pipeline import Run
from dareu.stages.floor_note import floor_note


def test_the_report_puts_the_floor_beside_the_oracles_mass(tmp_path):
    run = Run(load_config(None, [f"run.output_dir={tmp_path}"]))
    models = {"oracle": {"forget_attribution_mass": 0.112}, "target": {"forget_attribution_mass": 0.97}}
    assert floor_note(run, models) is None  # DareU has not run
    atomic_write_json(run.marker("unlearn-dareu"),
                      {"result": {"floor": 0.1034, "steps": 200, "steps_run": 85}})
    note = floor_note(run, models)
    assert "forget mass 0.103" in note and "oracle's: 0.112" in note and "target's: 0.970" in note
    assert "ran 85 of at most 200 steps" in note
