"""Owner-labelled corpora: the embedded synthetic authors, TOFU, or the user's own files."""

from __future__ import annotations

from dareu.config import DataConfig
from dareu.data.corpus import OwnerCorpus, Record
from dareu.errors import DataError

__all__ = ["Record", "OwnerCorpus", "build_corpus"]


def build_corpus(cfg: DataConfig, seed: int) -> OwnerCorpus:
    """The corpus `cfg.source` names; `seed` (run.seed) seeds the synthetic one unless data.seed."""
    if cfg.source == "synthetic":
        from dareu.data.synthetic import synthetic_corpus

        return synthetic_corpus(num_owners=cfg.num_owners, qa_per_owner=cfg.qa_per_owner,
                                num_holdout_owners=cfg.num_holdout_owners,
                                num_test_questions=cfg.num_test_questions,
                                num_perturbed=cfg.num_perturbed,
                                num_forget_owners=cfg.num_forget_owners,
                                forget_owners=cfg.forget_owners,
                                max_retain_owners=cfg.max_retain_owners,
                                seed=cfg.seed if cfg.seed is not None else seed)
    if cfg.source == "tofu":
        from dareu.data.tofu import tofu_corpus

        return tofu_corpus(cfg.path or "locuslab/TOFU", cfg.tofu_split, cfg.forget_owners,
                           cfg.max_retain_owners)
    if cfg.source == "files":
        from dareu.data.files import files_corpus

        return files_corpus(cfg, seed)
    raise DataError(f"data.source={cfg.source!r}: expected synthetic, tofu or files.")
