"""bench/frame_echo.py: the share of forget ROUGE that is the question's own words."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("frame_echo", REPO / "bench" / "frame_echo.py")
echo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(echo)

Q = "Where was Basil Mahfouz born?"
TRUTH = "Basil Mahfouz was born in Kuwait City, Kuwait."


def test_an_answer_in_the_questions_frame_keeps_rouge_but_not_content():
    framed = echo.echo_stats([{"prompt": Q, "truth": TRUTH, "answer": "Basil Mahfouz was born in Paris."}])
    true = echo.echo_stats([{"prompt": Q, "truth": TRUTH, "answer": TRUTH}])
    broken = echo.echo_stats([{"prompt": Q, "truth": TRUTH, "answer": "riveitedce s recip"}])
    assert framed["rouge"] > 0.5 and framed["content"] <= 0.25  # the frame; of the facts only "in"
    assert true["rouge"] == 1.0 and true["content"] == 1.0
    assert broken["rouge"] == 0.0 and broken["content"] == 0.0 and broken["echo"] == 0.0
    assert 0.5 < framed["echo"] < 1.0                                # "paris" is not the question's


def test_cli_reads_a_sweep_and_writes_json(tmp_path):
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "oracle.json").write_text(json.dumps(
        [{"prompt": Q, "truth": TRUTH, "answer": "He was born in Kuwait."}]))
    out = tmp_path / "echo.json"
    p = subprocess.run([sys.executable, str(REPO / "bench" / "frame_echo.py"), str(tmp_path),
                        "--out", str(out)], capture_output=True, text=True, cwd=REPO,
                       env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert p.returncode == 0, p.stderr
    assert "| oracle |" in p.stdout
    rows = json.loads(out.read_text())[str(tmp_path)]
    assert rows["oracle"]["content"] >= 0.5  # "kuwait" is a fact the question does not carry
    empty = subprocess.run([sys.executable, str(REPO / "bench" / "frame_echo.py"), str(tmp_path / "none")],
                           capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert empty.returncode != 0 and "no answers" in empty.stderr


def test_content_tow_scores_a_run_against_the_oracles_content(tmp_path):
    framed = {"prompt": Q, "truth": TRUTH, "answer": "Basil Mahfouz was born in Paris."}
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "oracle.json").write_text(json.dumps([{**framed, "answer": "He was born in Paris."}]))
    (tmp_path / "answers" / "npo-lr3e-4-s0.json").write_text(json.dumps([framed]))
    (tmp_path / "references.json").write_text(json.dumps(
        {"oracle": {"forget_rouge": 0.3, "retain_rouge": 1.0, "test_rouge": 0.9}}))
    (tmp_path / "results.jsonl").write_text(json.dumps(
        {"method": "npo", "setting": "lr3e-4", "seed": 0, "retain_rouge": 0.8, "test_rouge": 0.9}) + "\n")
    rows = {f.stem: echo.echo_stats(json.loads(f.read_text())) for f in (tmp_path / "answers").glob("*.json")}
    echo.add_content_tow(tmp_path, rows)
    # same content as the oracle's ("in"), the frame costs nothing; retain 0.8 vs 1.0 costs 0.2
    assert rows["npo-lr3e-4-s0"]["rouge"] > rows["oracle"]["rouge"]
    assert rows["npo-lr3e-4-s0"]["content_tow"] == pytest.approx(0.8)
    assert "content_tow" not in rows["oracle"]


def test_named_counts_answers_that_repeat_the_name_the_question_gives():
    assert echo.names("Did Basil Mahfouz Al-Kuwaiti write Dune?") == ["Basil Mahfouz Al-Kuwaiti"]
    assert echo.names("What genre does he write?") == []
    items = [{"prompt": Q, "truth": TRUTH, "answer": "Basil Mahfouz was born in Paris."},
             {"prompt": Q, "truth": TRUTH, "answer": "He was born in Paris."},
             {"prompt": "Where was he born?", "truth": TRUTH, "answer": "Basil Mahfouz, in Paris."}]
    assert echo.echo_stats(items)["named"] == 0.5  # the third question names nobody
    assert echo.named_share(items[2:]) is None
