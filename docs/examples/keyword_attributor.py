"""A third-party attributor in a few dozen lines: word overlap with each owner's responses.

Install it from your own package with an entry point (pyproject.toml):

    [project.entry-points."dareu.attributors"]
    keyword = "keyword_attributor:KeywordAttributor"

then select it in a recipe:

    attributor:
      name: keyword
      options: {min_word_length: 5}

or, without packaging, put this file beside your recipe (or in the folder you run `dareu` from) and
name it by import path: `attributor.name=keyword_attributor:KeywordAttributor`. No PYTHONPATH is
needed: DareU imports from the recipe's folder and the working directory. A class registered with
`@register_attributor("keyword")` is reachable by that name once the recipe lists its module:

    imports: [keyword_attributor]
    attributor:
      name: keyword
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from attributors import Attributor


@dataclass
class KeywordConfig:
    min_word_length: int = 4
    """Ignore shorter words ("the", "and", ...): they belong to every owner."""


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
