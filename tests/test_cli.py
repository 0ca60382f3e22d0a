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
    for cmd in ("prepare", "fit-attributor", "unlearn", "evaluate", "report", "run", "bench"):
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
