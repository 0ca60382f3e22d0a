"""A third-party attributor in a few dozen lines: word overlap with each owner's responses.

Run it end to end (fit on a tiny corpus, reward DareU with it, evaluate the unlearned model):

    python examples/keyword_attributor.py [OUT_DIR]        # CPU, about a minute

To use it from DareU's own pipeline, install it from your own package with an entry point
(pyproject.toml):

    [project.entry-points."dareu.attributors"]
    keyword = "keyword_attributor:KeywordAttributor"

then select it in a recipe:

    attributor:
      name: keyword
      options: {min_word_length: 5}

or, without packaging, put this file beside your recipe (or in the folder you run `dareu` from) and
name it by import path: `attributor.name=keyword_attributor:KeywordAttributor`. No PYTHONPATH is
needed: DareU imports from the recipe's folder and the working directory. The class is registered
with `@register_attributor("keyword")`, so it is reachable by that name once the recipe lists its
module:

    imports: [keyword_attributor]
    attributor:
      name: keyword
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from attributors import AliasMasker, Attributor, mask_corpus, register_attributor


@dataclass
class KeywordConfig:
    min_word_length: int = 4
    """Ignore shorter words ("the", "and", ...): they belong to every owner."""


# The name a recipe selects once `imports:` lists this module (and the name saved in attributor.json).
@register_attributor("keyword")
class KeywordAttributor(Attributor):
    """Score = how many distinct words of the text occur in the owner's responses (counts, not
    normalised: the reward divides by the row total)."""

    Config = KeywordConfig

    def fit(self, corpus) -> "KeywordAttributor":
        self.owners = list(corpus.owners)
        self.keywords = [set().union(*(self._words(r.response) for r in corpus.of([owner])))
                         for owner in self.owners]
        return self

    def score(self, prompts, responses) -> torch.Tensor:
        out = torch.zeros(len(responses), len(self.owners))                 # (N, n_owners)
        for i, text in enumerate(self.texts(prompts, responses)):
            words = self._words(text)
            for j, keywords in enumerate(self.keywords):
                out[i, j] = len(words & keywords)
        return out

    def _words(self, text: str) -> set[str]:
        return {w for w in re.findall(r"\w+", text.lower()) if len(w) >= self.config.min_word_length}

    # Keywords are not tensors: save them as JSON beside attributor.json.
    def save(self, directory) -> None:
        super().save(directory)
        (Path(directory) / "keywords.json").write_text(json.dumps([sorted(k) for k in self.keywords]))

    def after_load(self, directory: Path) -> None:
        self.keywords = [set(k) for k in json.loads((directory / "keywords.json").read_text())]


def main(out: Path) -> dict:
    """Fit on a tiny corpus (names masked), train DareU against it, evaluate the result."""
    import lightning as L

    from _tiny import quiet_trainer, tiny_world
    from dareu import (DareU, DeAttributionReward, EvalTask, FittedAttributor, Policy,
                       evaluate_model, load_tokenizer)

    corpus, cfg = tiny_world(out / "model", ["unlearn.steps=3", "unlearn.sampling.prompts_per_step=4",
                                             "unlearn.sampling.max_new_tokens=16"])
    masker = AliasMasker(corpus.aliases)  # the owners' names must not give them away
    attributor = KeywordAttributor(KeywordConfig(min_word_length=5)).fit(mask_corpus(corpus, masker))
    reward = DeAttributionReward(attributor, corpus.forget_owners, masker=masker)

    tokenizer = load_tokenizer(out / "model", cfg.model)
    policy = Policy.from_pretrained(out / "model", tokenizer, cfg.model, mode="full")
    module = DareU(policy, reward, [r.prompt for r in corpus.forget], corpus.retain, cfg)
    L.seed_everything(0, verbose=False)
    quiet_trainer(max_steps=cfg.unlearn.steps * module.optimizer_steps_per_batch).fit(module)

    task = EvalTask(corpus, tokenizer, cfg.eval, cfg.model.max_length,
                    mass=FittedAttributor(key=["keyword", 5], load=lambda: reward))
    summary, _ = evaluate_model(task, policy.model, "dareu", out / "eval")
    print({k: v for k, v in summary.items() if v is not None})
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dareu-example-")))
