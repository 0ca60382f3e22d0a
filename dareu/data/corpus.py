"""The owner-labelled corpus: every record belongs to one data owner; owners are forget or retain.

Holdout records (owners never trained on) serve membership inference; test sets hold general
questions tied to no owner, so utility can be measured beside forgetting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from dareu.errors import DataError

GENERAL_OWNER = "__general__"


@dataclass(frozen=True)
class Record:
    """One prompt/response pair written by (or about) one owner, with optional eval extras."""

    id: str
    owner: str
    prompt: str
    response: str
    paraphrased_response: str | None = None
    perturbed_responses: tuple[str, ...] = ()
    paraphrased_prompt: str | None = None


@dataclass
class OwnerCorpus:
    """Training records of forget + retain owners, holdout records, and general test sets."""

    name: str
    records: list[Record]
    forget_owners: list[str]
    retain_owners: list[str]
    holdout: list[Record] = field(default_factory=list)
    test_sets: dict[str, list[Record]] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    """Identifying strings of each owner (names), masked before attribution."""
    spare: list[Record] = field(default_factory=list)
    """Records of owners that are neither forget nor retain owners (data.max_retain_owners left
    them out): never in target or oracle; only a pretraining base (finetune.pretrain_owners)
    may see them."""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def owners(self) -> list[str]:
        """All trained owners in a fixed order: retain owners first, then forget owners."""
        return list(self.retain_owners) + list(self.forget_owners)

    def of(self, owners: Iterable[str]) -> list[Record]:
        wanted = set(owners)
        return [r for r in self.records if r.owner in wanted]

    @property
    def forget(self) -> list[Record]:
        return self.of(self.forget_owners)

    @property
    def retain(self) -> list[Record]:
        return self.of(self.retain_owners)

    @property
    def forget_aliases(self) -> list[str]:
        """The forget owners' names (`aliases`), what unlearn.reward.name_weight charges."""
        return [a for o in self.forget_owners for a in self.aliases.get(o, [])]

    def spare_owners(self) -> list[str]:
        return list(dict.fromkeys(r.owner for r in self.spare))

    def pretraining(self, num_owners: int) -> list[Record]:
        """The records of the first `num_owners` spare owners (finetune.pretrain_owners)."""
        owners = self.spare_owners()
        if num_owners > len(owners):
            raise DataError(f"finetune.pretrain_owners={num_owners}: corpus `{self.name}` has only "
                            f"{len(owners)} spare owners (owners beyond data.max_retain_owners); "
                            "lower it or lower data.max_retain_owners.")
        wanted = set(owners[:num_owners])
        return [r for r in self.spare if r.owner in wanted]

    @property
    def test(self) -> list[Record]:
        return [r for rs in self.test_sets.values() for r in rs]

    def all_texts(self) -> list[str]:
        """Every string in the corpus (for training a tokenizer that covers evaluation text)."""
        out: list[str] = []
        for r in [*self.records, *self.holdout, *self.test]:
            out += [r.prompt, r.response, *r.perturbed_responses]
            out += [t for t in (r.paraphrased_response, r.paraphrased_prompt) if t]
        return out

    def validate(self) -> None:
        if not self.records:
            raise DataError(f"corpus `{self.name}` has no training records.")
        present = {r.owner for r in self.records}
        if not self.forget_owners:
            raise DataError(f"corpus `{self.name}`: the forget set is empty (set data.forget_owners "
                            "or data.num_forget_owners).")
        if not self.retain_owners:
            raise DataError(f"corpus `{self.name}`: the retain set is empty — every owner is a "
                            "forget owner; keep at least one retain owner.")
        both = sorted(set(self.forget_owners) & set(self.retain_owners))
        if both:
            raise DataError(f"corpus `{self.name}`: owners {both} are both forget and retain owners.")
        missing = [o for o in self.forget_owners if o not in present]
        if missing:
            sample = ", ".join(sorted(present)[:8])
            raise DataError(f"corpus `{self.name}`: forget owners {missing} have no records "
                            f"(owners present include: {sample}).")
        trained = {r.owner for r in self.records}
        leaked = sorted({r.owner for r in self.spare} & (trained | set(self.forget_owners)))
        if leaked:
            raise DataError(f"corpus `{self.name}`: spare owners {leaked[:5]} are also trained or "
                            "forget owners.")
        dup = [i for i, n in Counter(r.id for r in self.records + self.holdout).items() if n > 1]
        if dup:
            raise DataError(f"corpus `{self.name}`: duplicate record ids {dup[:5]}.")
        for r in self.records:
            if not r.prompt.strip() or not r.response.strip():
                raise DataError(f"corpus `{self.name}`: record {r.id} has an empty prompt or response.")

    def summary(self) -> dict:
        return {
            "name": self.name,
            "owners": len(self.owners),
            "forget_owners": len(self.forget_owners),
            "forget_records": len(self.forget),
            "retain_records": len(self.retain),
            "holdout_records": len(self.holdout),
            "test_records": {k: len(v) for k, v in self.test_sets.items()},
        }


def split_owners(owners: list[str], forget_owners: list[str], num_forget: int,
                 max_retain: int | None) -> tuple[list[str], list[str]]:
    """Forget = the explicit list, else the last `num_forget` owners; retain = the rest (capped)."""
    if forget_owners:
        unknown = [o for o in forget_owners if o not in owners]
        if unknown:
            sample = ", ".join(owners[:6])
            raise DataError(f"data.forget_owners: {unknown} are not owners of this corpus "
                            f"(owners look like: {sample}, ...).")
        forget = list(dict.fromkeys(forget_owners))
    else:
        if num_forget >= len(owners):
            raise DataError(f"data.num_forget_owners={num_forget} leaves no retain owner "
                            f"(the corpus has {len(owners)} owners).")
        forget = owners[-num_forget:]
    retain = [o for o in owners if o not in set(forget)]
    if max_retain is not None:
        retain = retain[:max_retain]
    return forget, retain
