"""LightningDataModules over owner records: tokenised QA pairs, seeded shuffling."""

from __future__ import annotations

from typing import Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import PreTrainedTokenizerBase

from dareu.data.corpus import Record
from dareu.data.formatting import encode_pair, format_prompt, pad_batch


class QADataset(Dataset):
    """Teacher-forced prompt/response pairs (loss on the response only)."""

    def __init__(self, records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, template: str,
                 max_length: int, chat_template: bool = False) -> None:
        self.rows = [encode_pair(tokenizer, format_prompt(r.prompt, tokenizer, template, chat_template),
                                 r.response, max_length) for r in records]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


def qa_loader(records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, template: str,
              max_length: int, batch_size: int, seed: int, shuffle: bool = True,
              chat_template: bool = False, drop_last: bool = False) -> DataLoader:
    ds = QADataset(records, tokenizer, template, max_length, chat_template)
    pad = tokenizer.pad_token_id
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      generator=torch.Generator().manual_seed(seed),
                      collate_fn=lambda rows: pad_batch(rows, pad))


class QADataModule(L.LightningDataModule):
    """Finetuning data: the chosen owners' records, shuffled by a seeded generator."""

    def __init__(self, records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, template: str,
                 max_length: int, batch_size: int, seed: int, chat_template: bool = False) -> None:
        super().__init__()
        self.records, self.tokenizer, self.template = list(records), tokenizer, template
        self.max_length, self.batch_size, self.seed = max_length, batch_size, seed
        self.chat_template = chat_template

    def train_dataloader(self) -> DataLoader:
        return qa_loader(self.records, self.tokenizer, self.template, self.max_length,
                         self.batch_size, self.seed, chat_template=self.chat_template)
