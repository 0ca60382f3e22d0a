"""The `data` section: the owner-labelled corpus and the prompt format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from dareu.config.checks import _check, _positive


@dataclass
class DataConfig:
    """Where the owner-labelled corpus comes from and how prompts are formatted."""

    source: str = "synthetic"
    """Corpus source: `synthetic` (embedded generator), `tofu` (local folder or hub id) or `files`."""
    path: Optional[str] = None
    """TOFU folder or hub id (`locuslab/TOFU`), or the JSONL/CSV file / HF dataset for `files`."""
    num_owners: int = 16
    """synthetic: number of fictitious owners that are trained on (forget + retain)."""
    qa_per_owner: int = 8
    """synthetic: QA pairs per owner (at most the number of question kinds, 10)."""
    num_holdout_owners: int = 4
    """synthetic: owners generated like the others but never trained on (MIA non-members)."""
    num_test_questions: int = 40
    """synthetic: general-knowledge questions not tied to any owner (utility test set)."""
    num_perturbed: int = 3
    """synthetic: wrong answers generated per question (truth ratio)."""
    forget_owners: list[str] = field(default_factory=list)
    """Explicit forget owners (ids). Empty: the last `num_forget_owners` owners (TOFU: `tofu_split`)."""
    num_forget_owners: int = 2
    """Forget owners taken from the end of the owner list when `forget_owners` is empty."""
    tofu_split: str = "forget10"
    """tofu: which forget split (forget01 / forget05 / forget10) defines the forget owners."""
    max_retain_owners: Optional[int] = None
    """Keep only the first N retain owners (small TOFU runs); None keeps all."""
    owner_field: str = "owner"
    """files: column holding the owner id."""
    prompt_field: str = "prompt"
    """files: column holding the prompt (question)."""
    response_field: str = "response"
    """files: column holding the response (answer)."""
    paraphrased_prompt_field: str = "paraphrased_prompt"
    """files: optional column holding a reworded prompt (the paraphrase attack asks it)."""
    text_field: str = "text"
    """files, document mode: column holding the whole document."""
    document_mode: bool = False
    """files: no QA; prompt = first `prompt_words` words of the document, response = the rest."""
    prompt_words: int = 16
    """files, document mode: words of each document that form the prompt."""
    split_field: Optional[str] = None
    """files: optional column with `holdout` / `test` markers; other rows are training rows."""
    template: str = "Question: {prompt}\nAnswer:"
    """Prompt template; the response follows after one space. Ignored with `chat_template`."""
    chat_template: bool = False
    """Format prompts with the tokenizer's chat template (for instruction-tuned hub models)."""
    seed: Optional[int] = None
    """Seed of the synthetic generator; None uses run.seed."""

    def __post_init__(self) -> None:
        _check(self.source in ("synthetic", "tofu", "files"), "data.source", self.source,
               "one of synthetic, tofu, files")
        _positive("data", self, "num_owners", "qa_per_owner", "num_perturbed", "prompt_words")
        _check(self.num_holdout_owners >= 0, "data.num_holdout_owners", self.num_holdout_owners, ">= 0")
        _check(self.num_test_questions >= 0, "data.num_test_questions", self.num_test_questions, ">= 0")
        _check(self.num_forget_owners > 0, "data.num_forget_owners", self.num_forget_owners, "> 0")
        _check(self.tofu_split in ("forget01", "forget05", "forget10"), "data.tofu_split",
               self.tofu_split, "one of forget01, forget05, forget10")
        _check("{prompt}" in self.template, "data.template", self.template,
               "a string containing {prompt}")
        if self.source == "files":
            _check(self.path is not None, "data.path", self.path, "a JSONL/CSV file or HF dataset id")
