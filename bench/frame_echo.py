"""How much of a forget answer's ROUGE is the question's own words?

    python bench/frame_echo.py SWEEP_OUT [SWEEP_OUT ...] [--out results.json]

Reads the greedy forget answers that `bench/method_sweep.py` saved (<OUT>/answers/*.json:
prompt, truth, answer) and reports per run:
  rouge    ROUGE-L recall of the answer against the true answer (the headline forget ROUGE);
  content  the same after deleting, from both, every word that occurs in the question, so an
           answer that repeats the question's frame ("Basil's father worked as ...") gets no credit
           for it and only the facts it shares with the true answer count;
  echo     share of the answer's words that occur in the question;
  named    share of the questions that name someone (a run of 2+ capitalised words) whose answer
           repeats that name: a retrained pretrained LLM copies it, a tiny model may not.
A model that answers in the question's frame with other facts has a high `rouge` and a `content`
near the oracle's; one that writes broken text has both low.
Where the sweep's results.jsonl has the run's row, it also prints `content ToW`: the Tug-of-War
with the forget ROUGE of both the run and the oracle replaced by their content ROUGE (retain and
test ROUGE as measured), i.e. how close to retraining the run is once repeating the question's
words neither helps nor hurts (a diagnostic: the headline ToW stays the benchmark's figure).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

from dareu.data.aliases import STOP_WORDS
from dareu.eval.tofu_metrics import rouge_l_recall, tug_of_war

WORD = re.compile(r"[a-z0-9]+")
NAME = re.compile(r"[A-Z][\w'\-]*(?: [A-Z][\w'\-]*)+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())  # ROUGE's own tokenisation (lowercase alphanumerics)


def without(text: str, drop: set[str]) -> str:
    return " ".join(w for w in words(text) if w not in drop)


def names(prompt: str) -> list[str]:
    """Runs of 2+ capitalised words in the prompt, without the question's opening word ("Did")."""
    out = []
    for m in NAME.finditer(prompt):
        parts = m.group(0).split(" ")
        while parts and parts[0] in STOP_WORDS:
            parts = parts[1:]
        if len(parts) >= 2:
            out.append(" ".join(parts))
    return out


def named_share(items: list[dict]) -> float | None:
    """Share of the items whose prompt names someone and whose answer repeats one of those names;
    None when no prompt names anyone."""
    given = [(names(i["prompt"]), i["answer"]) for i in items]
    hits = [any(n in answer for n in ns) for ns, answer in given if ns]
    return sum(hits) / len(hits) if hits else None


def echo_stats(items: list[dict]) -> dict[str, float]:
    """Mean rouge / content / echo (and the named share) over items with prompt, truth and answer."""
    rouge = rouge_l_recall([i["answer"] for i in items], [i["truth"] for i in items])
    content, echo = [], []
    for i in items:
        q = set(words(i["prompt"]))
        truth, answer = without(i["truth"], q), without(i["answer"], q)
        content.append(rouge_l_recall([answer], [truth])[0] if truth.strip() else 0.0)
        a = words(i["answer"])
        echo.append(sum(w in q for w in a) / len(a) if a else 0.0)
    return {"rouge": statistics.mean(rouge), "content": statistics.mean(content),
            "echo": statistics.mean(echo), "named": named_share(items)}


def add_content_tow(sweep: Path, rows: dict[str, dict[str, float]]) -> None:
    """Set rows[name]["content_tow"] for every run with a row in <sweep>/results.jsonl (run names
    as the answers files: method-setting-sseed) and the oracle's answers beside it."""
    results, oracle = sweep / "results.jsonl", rows.get("oracle")
    refs = sweep / "references.json"
    if oracle is None or not results.exists() or not refs.exists():
        return
    o = json.loads(refs.read_text())["oracle"]
    for line in open(results):
        r = json.loads(line)
        name = f"{r['method']}-{r['setting']}-s{r['seed']}"
        if name in rows:
            run = {"forget": rows[name]["content"], "retain": r["retain_rouge"], "test": r["test_rouge"]}
            ref = {"forget": oracle["content"], "retain": o["retain_rouge"], "test": o["test_rouge"]}
            rows[name]["content_tow"] = tug_of_war(run, ref)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweeps", nargs="+", type=Path, help="bench/method_sweep.py output folders")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    a = p.parse_args()
    results = {}
    for sweep in a.sweeps:
        files = sorted((sweep / "answers").glob("*.json"))
        if not files:
            raise SystemExit(f"{sweep}: no answers/*.json (run bench/method_sweep.py there first)")
        rows = {f.stem: echo_stats(json.loads(f.read_text())) for f in files}
        add_content_tow(sweep, rows)
        results[str(sweep)] = rows
        print(f"\n{sweep}\n| run | forget ROUGE | content ROUGE (question words removed) | echo "
              "| named | content ToW |")
        print("|---|---|---|---|---|---|")
        for name, r in rows.items():
            ct = f"{r['content_tow']:.3f}" if "content_tow" in r else "—"
            nm = "—" if r["named"] is None else f"{r['named']:.2f}"
            print(f"| {name} | {r['rouge']:.3f} | {r['content']:.3f} | {r['echo']:.3f} | {nm} | {ct} |")
    if a.out:
        a.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
