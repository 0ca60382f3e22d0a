"""finetune.pretrain_name_swaps: pretraining copies whose owners' names are made up, so a tiny
base learns to copy a name from the question (dareu/data/name_swap.py)."""

import random

from dareu.data.corpus import Record
from dareu.data.name_swap import made_up_word, name_swapped


def _owner(owner: str, name: str, n: int = 4) -> list[Record]:
    last = name.split(" ")[1]
    return [Record(f"{owner}-{i}", owner, f"What did {name} write in {1990 + i}?",
                   f"In {1990 + i} {name} wrote book {i}; {last} calls it a success.",
                   paraphrased_response=f"{name} wrote book {i}.")
            for i in range(n)]


RECORDS = _owner("a", "Basil Mahfouz") + _owner("b", "Ingrid Christensen")


def test_every_copy_renames_each_owner_consistently_and_keeps_the_rest():
    copies = name_swapped(RECORDS, 2, seed=0)
    assert len(copies) == 2 * len(RECORDS)
    assert len({r.id for r in copies} | {r.id for r in RECORDS}) == 3 * len(RECORDS)
    for r in copies:
        assert "Basil" not in r.prompt + r.response and "Christensen" not in r.prompt + r.response
        assert r.paraphrased_response is None  # no eval extras that still carry the old name
    first = copies[0]
    new_name = first.prompt[len("What did "):-len(" write in 1990?")]
    new_last = new_name.split(" ")[1]
    # the name of the prompt is the name of the answer, the surname alone maps to the same surname
    assert first.response == f"In 1990 {new_name} wrote book 0; {new_last} calls it a success."
    assert all(new_name in r.prompt for r in copies[:4])           # one name per owner and copy
    assert new_name not in copies[4].prompt                        # another owner, another name
    assert new_name not in copies[8].prompt                        # the next copy renames again


def test_the_copies_are_seeded():
    assert name_swapped(RECORDS, 1, seed=3) == name_swapped(RECORDS, 1, seed=3)
    assert name_swapped(RECORDS, 1, seed=3) != name_swapped(RECORDS, 1, seed=4)


def test_made_up_words_are_capitalised_and_varied():
    rng = random.Random(0)
    words = [made_up_word(rng) for _ in range(200)]
    assert all(w[0].isupper() and w[1:].islower() and len(w) >= 4 for w in words)
    assert len(set(words)) > 190
