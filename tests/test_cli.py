"""The command line: help lists the commands; user mistakes exit 2 with one paragraph."""

import subprocess
import sys

import pytest

from dareu.cli import main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "dareu.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_help_lists_commands():
    out = _run("--help").stdout
    for cmd in ("prepare", "fit-attributor", "unlearn", "evaluate", "attack", "report", "run", "bench"):
        assert cmd in out


def test_bad_key_exits_2_without_traceback(tmp_path):
    r = _run("prepare", "recipes/quickstart.yaml", f"run.output_dir={tmp_path}/x", "unlearn.stepz=3")
    assert r.returncode == 2
    assert "Did you mean `unlearn.steps`" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists(), "no partial outputs on a config error"


def test_missing_recipe_exits_2(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("override,msg", [("data.forget_owners=[Nobody]", "not owners of this corpus"),
                                          ("data.num_forget_owners=99", "leaves no retain owner")])
def test_bad_data_exits_2(tmp_path, capsys, override, msg):
    assert main(["prepare", "recipes/quickstart.yaml", f"run.output_dir={tmp_path}/r", override]) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "r" / "target").exists()


@pytest.mark.parametrize("override,msg", [
    ("attributor.name=classifer", "Did you mean 'classifier'"),
    ("attributor.options={epochz: 3}", "epochz (did you mean epochs?)"),
    ("eval.attributors=[influense]", "Did you mean 'influence'"),
    ("unlearn.methods=[dareu,npoo]", "unknown method 'npoo'"),
    ("model.oracle_path=/no/such/oracle", "model.oracle_path"),
])
def test_run_checks_every_name_before_any_stage(tmp_path, override, msg):
    """A typo costs seconds: `dareu run` refuses it before the target is trained or anything written."""
    import time

    t0 = time.perf_counter()
    r = _run("run", "recipes/quickstart.yaml", f"run.output_dir={tmp_path}/r", override)
    cpu = time.perf_counter() - t0
    assert r.returncode == 2, r.stderr[-2000:]
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r").exists(), "nothing may be written before the checks pass"
    assert cpu < 60  # seconds of imports and a corpus read (about 6 s on a quiet 2-core CPU)
