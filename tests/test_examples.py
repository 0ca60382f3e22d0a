"""Each script of examples/ runs with no arguments and does what it says (tiny models, few steps).

They run as a user runs them: `python examples/<name>.py` in a fresh process, writing into a
temporary folder (TMPDIR points into pytest's tmp_path)."""

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, tmp_path: Path) -> tuple[str, Path]:
    """(stdout, the folder the example wrote into) of `python examples/<name>` with no arguments."""
    env = {**os.environ, "TMPDIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    (out,) = [p for p in tmp_path.iterdir() if p.name.startswith("dareu-example-")]
    return proc.stdout, out


def test_every_example_has_a_test():
    tested = {"unlearn_hf_folder.py", "trl_grpo_reward.py", "keyword_attributor.py"}
    assert {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")} == tested


@pytest.mark.slow
def test_unlearn_a_hf_folder_in_your_own_trainer(tmp_path):
    stdout, out = run_example("unlearn_hf_folder.py", tmp_path)
    assert (out / "unlearned" / "model.safetensors").is_file()
    rows = list(csv.DictReader(open(out / "logs" / "metrics.csv")))
    assert len(rows) == 4 and all(0 <= float(r["forget_mass"]) <= 1 for r in rows)  # 4 RL steps
    assert "forget mass" in stdout and "retain ROUGE" in stdout


@pytest.mark.slow
def test_reward_in_trl_grpo_trainer(tmp_path):
    assert importlib.util.find_spec("trl") is not None, (
        "examples/trl_grpo_reward.py needs TRL: pip install -e '.[test]' (it pins trl==1.16.0)")
    stdout, _ = run_example("trl_grpo_reward.py", tmp_path)
    rewards = [float(line.rsplit(" ", 1)[1]) for line in stdout.splitlines()
               if line.startswith("step ") and "de-attribution reward" in line]
    assert len(rewards) == 2 and all(-1 <= r <= 0 for r in rewards)


@pytest.mark.slow
def test_a_new_attributor_end_to_end(tmp_path):
    _, out = run_example("keyword_attributor.py", tmp_path)
    summary = json.loads((out / "eval" / "TOFU_SUMMARY.json").read_text())
    assert 0 <= summary["forget_attribution_mass"] <= 1
    assert "forget_quality" not in summary  # no oracle given: nothing compared with one
    assert (out / "eval" / "parts" / "mass.json").is_file()
