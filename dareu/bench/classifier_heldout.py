"""`dareu bench classifier RECIPE [overrides]`: held-out accuracy of the classifier attributor.

Fits the classifier attributor on the recipe's alias-masked corpus (as `dareu fit-attributor`
does, with a tokenizer trained on the corpus) once per `--features` choice and prints its
held-out top-1 accuracy, macro-F1 and expected calibration error (paraphrases of held-out
records, or their responses where a corpus has no paraphrases), and the fit time. Writes
bench/results/classifier-<corpus>.json.
"""

from __future__ import annotations

import argparse
import time

from dareu.bench.common import table, write_result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench classifier", description=__doc__.splitlines()[0])
    p.add_argument("recipe")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--features", default="transformer,ngram,both")
    p.add_argument("--seeds", default="0", help="comma-separated fit seeds")
    p.add_argument("--out", default=None)
    return p


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    from attributors.base import AttributorContext, build_attributor
    from attributors.masking import AliasMasker, mask_corpus
    from dareu.config import load_config

    cfg = load_config(a.recipe, a.overrides)
    from dareu.data import build_corpus

    corpus = build_corpus(cfg.data, cfg.run.seed)
    masker = AliasMasker.from_config(corpus.aliases, cfg.attributor)
    masked = mask_corpus(corpus, masker)
    rows, results = [], {}
    for features in a.features.split(","):
        for seed in [int(s) for s in a.seeds.split(",")]:
            ctx = AttributorContext(device="cpu", seed=seed, sees=cfg.attributor.sees, masker=masker)
            options = {**cfg.attributor.options, "features": features}
            t0 = time.time()
            attributor = build_attributor("classifier", options, ctx).fit(masked)
            rep = attributor.fit_report()
            res = {k: rep.get(k) for k in ("heldout_accuracy", "heldout_macro_f1", "heldout_ece")}
            res["fit_seconds"] = round(time.time() - t0, 1)
            results[f"{features}/seed{seed}"] = res
            rows.append([features, seed, *[None if v is None else round(v, 3) for v in res.values()]])
    print(f"classifier attributor on {corpus.name}: {len(corpus.owners)} owners, "
          f"{len(corpus.records)} records")
    print(table(["features", "seed", "held-out acc", "macro-F1", "ECE", "fit s"], rows))
    path = write_result(f"classifier-{corpus.name}", {"recipe": a.recipe, "overrides": a.overrides,
                                                      "owners": len(corpus.owners),
                                                      "records": len(corpus.records),
                                                      "results": results}, a.out)
    print(f"written to {path}")
    return 0
