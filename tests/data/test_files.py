import json

import pytest

from dareu.config import DataConfig
from dareu.data import build_corpus
from dareu.data.corpus import GENERAL_OWNER
from dareu.data.files import files_corpus
from dareu.errors import DataError

NAMES = {"ana": "Ana Lupescu", "bo": "Bo Karlsson", "cy": "Cyrus Oyelaran", "di": "Dita Vann"}


def qa_rows(owners=("ana", "bo", "cy", "di"), per_owner=3):
    rows = []
    for o in owners:
        n = NAMES.get(o, o.title())
        for k in range(per_owner):
            rows.append({"owner": o, "prompt": f"What is fact {k} about {n}?",
                         "response": f"{n} likes item {k} of {o}."})
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def cfg(path, **kw):
    return DataConfig(source="files", path=str(path), **kw)


def test_jsonl(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", qa_rows())
    c = files_corpus(cfg(f, num_forget_owners=1), seed=0)
    assert c.name == "c"
    assert c.forget_owners == ["di"] and c.retain_owners == ["ana", "bo", "cy"]
    assert len(c.records) == 12 and c.records[0].id == "row-0"
    assert c.records[0].prompt == "What is fact 0 about Ana Lupescu?"
    assert "Ana Lupescu" in c.aliases["ana"]
    assert c.holdout == [] and c.test_sets == {}


def test_json_array_and_custom_fields(tmp_path):
    rows = [{"who": r["owner"], "q": r["prompt"], "a": r["response"]} for r in qa_rows()]
    f = tmp_path / "c.json"
    f.write_text(json.dumps(rows, indent=1))
    c = files_corpus(cfg(f, owner_field="who", prompt_field="q", response_field="a",
                         forget_owners=["bo"], max_retain_owners=2), seed=0)
    assert c.forget_owners == ["bo"] and c.retain_owners == ["ana", "cy"]
    assert len(c.records) == 9


def test_paraphrased_prompt_column_can_be_named(tmp_path):
    rows = [dict(r, reworded=f"In other words: {r['prompt']}") for r in qa_rows()]
    f = write_jsonl(tmp_path / "c.jsonl", rows)
    assert files_corpus(cfg(f), seed=0).records[0].paraphrased_prompt is None
    c = files_corpus(cfg(f, paraphrased_prompt_field="reworded"), seed=0)
    assert c.records[0].paraphrased_prompt == "In other words: What is fact 0 about Ana Lupescu?"


def test_csv_with_ids_and_extras(tmp_path):
    f = tmp_path / "c.csv"
    lines = ["id,owner,prompt,response,perturbed_responses"]
    for i, r in enumerate(qa_rows(per_owner=2)):
        pert = json.dumps(["wrong a", "wrong b"]).replace('"', '""')
        lines.append(f'q{i},{r["owner"]},"{r["prompt"]}","{r["response"]}","{pert}"')
    f.write_text("\n".join(lines) + "\n")
    c = files_corpus(cfg(f), seed=0)
    assert [r.id for r in c.records][:2] == ["q0", "q1"]
    assert c.records[0].perturbed_responses == ("wrong a", "wrong b")
    assert c.forget_owners == ["cy", "di"]


def test_owner_values_become_strings(tmp_path):
    rows = [dict(r, owner=i // 3) for i, r in enumerate(qa_rows())]
    c = files_corpus(cfg(write_jsonl(tmp_path / "c.jsonl", rows), num_forget_owners=1), seed=0)
    assert c.owners == ["0", "1", "2", "3"]


def test_document_mode(tmp_path):
    rows = [{"owner": "ana", "body": "one two three four five six"},
            {"owner": "bo", "body": "alpha beta gamma\n\ndelta epsilon"},
            {"owner": "bo", "body": "too short"},
            {"owner": "cy", "body": "x y z w"}]
    f = write_jsonl(tmp_path / "d.jsonl", rows)
    c = files_corpus(cfg(f, document_mode=True, text_field="body", prompt_words=3,
                         num_forget_owners=1), seed=0)
    assert [(r.prompt, r.response) for r in c.records] == [
        ("one two three", "four five six"), ("alpha beta gamma", "delta epsilon"), ("x y z", "w")]
    assert [r.id for r in c.records] == ["row-0", "row-1", "row-3"]


def test_document_mode_all_too_short(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"owner": "a", "text": "short"},
                                           {"owner": "b", "text": "also short"}])
    with pytest.raises(DataError, match=r"all 2 documents.*prompt_words=16"):
        files_corpus(cfg(f, document_mode=True), seed=0)


def test_split_field(tmp_path):
    rows = qa_rows()
    rows += [{"owner": "eve", "prompt": "Who is Eve Marlow?", "response": "Eve Marlow sails.",
              "part": "holdout"},
             {"prompt": "What is the capital of Peru?", "response": "Lima.", "part": "test"},
             {"owner": "x", "prompt": "2+2?", "response": "4.", "part": "TEST"}]
    rows[0]["part"] = "train"
    c = files_corpus(cfg(write_jsonl(tmp_path / "c.jsonl", rows), split_field="part",
                         num_forget_owners=1), seed=0)
    assert len(c.records) == 12
    assert [r.owner for r in c.holdout] == ["eve"] and c.holdout[0].id == "row-12"
    assert [r.response for r in c.test_sets["test"]] == ["Lima.", "4."]
    assert all(r.owner == GENERAL_OWNER for r in c.test_sets["test"])
    assert "eve" not in c.owners


def test_holdout_owner_also_trained(tmp_path):
    rows = qa_rows() + [dict(qa_rows()[0], part="holdout")]
    with pytest.raises(DataError, match=r"\['ana'\].*both training and holdout"):
        files_corpus(cfg(write_jsonl(tmp_path / "c.jsonl", rows), split_field="part"), seed=0)


def test_build_corpus_dispatch(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", qa_rows())
    c = build_corpus(cfg(f, num_forget_owners=1), seed=3)
    assert c.forget_owners == ["di"]


# ----- errors: each names the file, the line / row, and what was expected -----

def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.jsonl not found.*expected"):
        files_corpus(cfg(tmp_path / "nope.jsonl"), seed=0)


def test_empty_file(tmp_path):
    f = tmp_path / "e.jsonl"
    f.write_text("\n  \n")
    with pytest.raises(DataError, match=r"e\.jsonl is empty"):
        files_corpus(cfg(f), seed=0)
    g = tmp_path / "e.csv"
    g.write_text("")
    with pytest.raises(DataError, match=r"e\.csv is empty"):
        files_corpus(cfg(g), seed=0)


def test_bad_json_line(tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps(qa_rows()[0]) + "\n\n{oops\n")
    with pytest.raises(DataError) as e:
        files_corpus(cfg(f), seed=0)
    assert "b.jsonl line 3" in str(e.value) and "not valid JSON" in str(e.value)


def test_row_not_an_object(tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps(qa_rows()[0]) + "\n[1, 2]\n")
    with pytest.raises(DataError, match=r"b\.jsonl line 2: a list; expected an object"):
        files_corpus(cfg(f), seed=0)


def test_missing_field_jsonl(tmp_path):
    rows = qa_rows()
    del rows[4]["response"]
    rows[4]["answer"] = "x"
    with pytest.raises(DataError) as e:
        files_corpus(cfg(write_jsonl(tmp_path / "m.jsonl", rows)), seed=0)
    msg = str(e.value)
    assert "m.jsonl line 5" in msg and "`response`" in msg and "missing" in msg
    assert "['answer', 'owner', 'prompt']" in msg and "data.response_field" in msg


def test_missing_owner_field_csv(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("author,prompt,response\nana,hi there,hello there\n")
    with pytest.raises(DataError) as e:
        files_corpus(cfg(f), seed=0)
    msg = str(e.value)
    assert "m.csv row 1 (line 2)" in msg and "`owner`" in msg
    assert "['author', 'prompt', 'response']" in msg


def test_empty_prompt_field(tmp_path):
    rows = qa_rows()
    rows[2]["prompt"] = "  "
    with pytest.raises(DataError, match=r"line 3: field `prompt` \(prompt\) is empty"):
        files_corpus(cfg(write_jsonl(tmp_path / "m.jsonl", rows)), seed=0)


def test_missing_text_field_document_mode(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"owner": "a", "body": "x " * 30}])
    with pytest.raises(DataError, match=r"d\.jsonl line 1: field `text`.*\['body', 'owner'\]"):
        files_corpus(cfg(f, document_mode=True), seed=0)


def test_duplicate_ids(tmp_path):
    rows = qa_rows()
    rows[0]["id"] = rows[1]["id"] = "same"
    with pytest.raises(DataError, match=r"duplicate record ids \['same'\]"):
        files_corpus(cfg(write_jsonl(tmp_path / "c.jsonl", rows)), seed=0)


def test_csv_extra_cells(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("owner,prompt,response\na,b,c\na,b,c,d\n")
    with pytest.raises(DataError, match=r"x\.csv row 2 \(line 3\) has 4 cells.*3 columns"):
        files_corpus(cfg(f), seed=0)


def test_unknown_extension(tmp_path):
    f = tmp_path / "c.parquet"
    f.write_bytes(b"PAR1")
    with pytest.raises(DataError, match=r"unknown extension `\.parquet`"):
        files_corpus(cfg(f), seed=0)


def test_forget_owner_unknown(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", qa_rows())
    with pytest.raises(DataError, match="zed"):
        files_corpus(cfg(f, forget_owners=["zed"]), seed=0)
    with pytest.raises(DataError, match="leaves no retain owner"):
        files_corpus(cfg(f, num_forget_owners=4), seed=0)


def test_hub_id_without_datasets(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_datasets(name, *a, **k):
        if name == "datasets":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(DataError, match=r"pip install datasets"):
        files_corpus(cfg("someone/some-dataset"), seed=0)
