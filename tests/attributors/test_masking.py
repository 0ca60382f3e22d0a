import re

import pytest

from attributors.masking import AliasMasker, mask_corpus
from dareu.config import AttributorConfig
from dareu.data.aliases import infer_aliases
from dareu.data.synthetic import synthetic_corpus
from dareu.data.tofu import tofu_corpus

M = AliasMasker({"a": ["Kalo Renta", "Kalo", "Renta"], "b": ["Ann Lee"]})


@pytest.mark.parametrize("text, masked", [
    ("Kalo Renta wrote it.", "[OWNER] wrote it."),
    ("KALO RENTA and kalo renta", "[OWNER] and [OWNER]"),                 # case-insensitive
    ("Kalo Renta's first novel", "[OWNER] first novel"),                   # possessive
    ("Renta’s garden", "[OWNER] garden"),                                  # curly possessive
    ("Kalosi Rentals and Annual Lee", "Kalosi Rentals and Annual Lee"),   # whole words only
    ("Ann Lee met Kalo.", "[OWNER] met [OWNER]."),
    ("Kalo, Renta.", "[OWNER], [OWNER]."),
])
def test_mask(text, masked):
    assert M(text) == masked


def test_longest_first_and_adjacent_collapse():
    m = AliasMasker(["Kalo", "Kalo Renta"], placeholder="<X>")
    assert m("Kalo Renta") == "<X>"                  # one placeholder, not "<X> Renta"
    assert m("Kalo Kalo") == "<X>"                   # adjacent placeholders collapse


def test_disabled_and_empty():
    assert AliasMasker({"a": ["Kalo"]}, enabled=False)("Kalo") == "Kalo"
    assert AliasMasker({"a": []})("Kalo") == "Kalo"
    off = AliasMasker.from_config({"a": ["Kalo"]}, AttributorConfig(mask_aliases=False))
    assert off("Kalo") == "Kalo"
    on = AliasMasker.from_config({"a": ["Kalo"]}, AttributorConfig(placeholder="<who>"))
    assert on("Kalo") == "<who>"


def test_mask_corpus_synthetic():
    c = synthetic_corpus()
    m = mask_corpus(c, AliasMasker(c.aliases))
    assert m.owners == c.owners and [r.id for r in m.records] == [r.id for r in c.records]
    names = [a for v in c.aliases.values() for a in v]
    texts = [t for r in [*m.records, *m.holdout] for t in
             (r.prompt, r.response, r.paraphrased_response, r.paraphrased_prompt,
              *r.perturbed_responses)]
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    assert not any(pattern.search(t) for t in texts)      # "Torvinsa Prize" keeps its "Torvin"
    assert sum("[OWNER]" in t for t in texts) > len(m.records)
    assert c.records[0].prompt != m.records[0].prompt          # the original is untouched
    assert len(m.test) == len(c.test)


def test_tofu_aliases_mask_names(tofu):
    c = tofu_corpus(str(tofu.path), "forget01", max_retain_owners=4)
    inferred = infer_aliases({o: c.of([o]) for o in c.owners})
    assert all(inferred[o] for o in c.owners)                  # every author gets a name
    m = mask_corpus(c, AliasMasker(c.aliases))
    for owner in c.owners:
        full = max(c.aliases[owner], key=len)
        before = sum(full.lower() in r.prompt.lower() for r in c.of([owner]))
        after = sum(full.lower() in r.prompt.lower() for r in m.of([owner]))
        assert before > 0 and after == 0
