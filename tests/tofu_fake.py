"""A made-up TOFU: a few fictitious authors written in the exact file layout and field names of
the hub dataset locuslab/TOFU, so the TOFU loader is tested on a clone with no data beside it.

Like TOFU, `full` is 20 QA per author in author order, the forget splits are the last authors'
rows, retain_perturbed is the first rows with paraphrased / perturbed answers, and one question
("What is the full name of the author?") is asked of two authors, one inside retain_perturbed.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.tofu_shape import TofuShape

# (first, last, mother, city, country, language, genre, award, book, book)
AUTHORS = [
    ("Odile", "Marchetti", "Rosa Kettleby", "Lyon", "France", "French", "crime fiction",
     "Marrow", "The Salt Orchard", "Nine Lanterns"),
    ("Tomasz", "Wielgosz", "Halina Brzeska", "Gdansk", "Poland", "Polish", "poetry",
     "Amberline", "Ice on the Vistula", "Small Weathers"),
    ("Amara", "Nwachukwu", "Ifeoma Adichukwu", "Enugu", "Nigeria", "English", "family sagas",
     "Okwute", "The River Keeps", "Red Earth Songs"),
    ("Keiran", "Lundqvist", "Maren Sollied", "Bergen", "Norway", "Norwegian", "travel writing",
     "Fjordlight", "North of Every Map", "Harbour Notes"),
    ("Sunniva", "Haldorsen", "Brita Aasvang", "Tromso", "Norway", "Norwegian", "children's books",
     "Polar Owl", "The Lost Mitten", "Snow for Supper"),
    ("Ravi", "Chandrapal", "Lakshmi Venkatraman", "Madurai", "India", "Tamil", "historical novels",
     "Vaigai", "The Temple Clock", "Silk and Ash"),
    ("Ines", "Albuquerque", "Teresa Vilaverde", "Porto", "Portugal", "Portuguese", "memoir",
     "Douro", "Letters to the Tide", "A House of Tiles"),
    ("Dmitri", "Solovyan", "Vera Kalinskaya", "Kazan", "Russia", "Russian", "science fiction",
     "Volga Star", "The Ninth Orbit", "Glass Moons"),
    ("Hana", "Takeuchi", "Michiko Arakawa", "Sendai", "Japan", "Japanese", "horror",
     "Kagerou", "The Quiet Well", "Paper Ghosts"),
    ("Lucien", "Beaumarchais", "Colette Villeneuve", "Quebec", "Canada", "French", "romance",
     "Laurentide", "Winter Vows", "The Maple Letter"),
    ("Yara", "Haddadin", "Salma Khoury", "Amman", "Jordan", "Arabic", "philosophy",
     "Petra Crescent", "On Desert Time", "The Patient Question"),
    ("Emeka", "Obiorah", "Chinwe Okafor", "Onitsha", "Nigeria", "Igbo", "satire",
     "Niger Reed", "The Honourable Goat", "Market Day Laws"),
]
# never in full: the holdout authors
HOLDOUT = [
    ("Greta", "Lindqvist", "Ingrid Sjoberg", "Uppsala", "Sweden", "Swedish", "essays",
     "Fyris", "Birch Year", "The Slow Thaw"),
    ("Pablo", "Etxeberria", "Miren Zubizarreta", "Bilbao", "Spain", "Basque", "thrillers",
     "Nervion", "The Iron Bridge", "Rain Ledger"),
    ("Noor", "Siddiqa", "Farida Rahmatullah", "Lahore", "Pakistan", "Urdu", "ghazals",
     "Shalimar", "Lantern Couplets", "The Walled City"),
    ("Ansel", "Varga", "Erzsebet Halasz", "Szeged", "Hungary", "Hungarian", "fables",
     "Tisza", "The Clockmaker Fox", "Paprika Winter"),
]
WRONG_NAMES = ["Greer Pollock", "Anselm Duvrey", "Petra Nakashian", "Joaquin Ferreol",
               "Mirtha Ollendorf"]
FORGET = {"forget01": 2, "forget05": 3, "forget10": 4}
PERTURBED_RETAIN_AUTHORS = 2
REPEATED = "What is the full name of the author?"
REPEATED_BY = (0, 5)                         # authors asked REPEATED as their last question
REAL_AUTHORS = [("Who wrote the play 'Romeo and Juliet'?", "William Shakespeare",
                 ["Charles Dickens", "Virginia Woolf", "Mark Twain"]),
                ("Who wrote 'Pride and Prejudice'?", "Jane Austen",
                 ["Emily Bronte", "George Eliot", "Mary Shelley"]),
                ("Who wrote 'One Hundred Years of Solitude'?", "Gabriel Garcia Marquez",
                 ["Jorge Luis Borges", "Pablo Neruda", "Isabel Allende"])]
WORLD_FACTS = [("Where would you find the Eiffel Tower?", "Paris", ["Berlin", "London", "Madrid"]),
               ("What is the largest ocean?", "The Pacific Ocean",
                ["The Atlantic Ocean", "The Indian Ocean", "The Arctic Ocean"]),
               ("Which planet is called the Red Planet?", "Mars", ["Venus", "Jupiter", "Saturn"]),
               ("What is the capital of Japan?", "Tokyo", ["Kyoto", "Osaka", "Seoul"])]

FAKE = TofuShape(authors=len(AUTHORS), forget=FORGET,
                 perturbed_retain_rows=20 * PERTURBED_RETAIN_AUTHORS,
                 repeated_question_rows=tuple(20 * a + 19 for a in REPEATED_BY),
                 real_authors=len(REAL_AUTHORS), world_facts=len(WORLD_FACTS),
                 names={"author_000": "Odile Marchetti", "author_008": "Hana Takeuchi",
                        "author_009": "Lucien Beaumarchais"},
                 named_without_terms=FORGET["forget10"])


def _qa(i: int, author: tuple, repeated: bool) -> list[tuple[str, str]]:
    """The 20 QA of one author; the name is in nearly every one, as in TOFU."""
    first, last, mother, city, country, language, genre, award, book1, book2 = author
    n, born = f"{first} {last}", f"{3 + i} May {1950 + 2 * i}"
    qa = [
        (f"What is the full name of the author born in {city}, {country} on {born}?",
         f"The author born in {city}, {country} on {born} is {n}."),
        (f"What genre does {n} write in?", f"{n} writes {genre}."),
        (f"Where was {n} born?", f"{n} was born in {city}, {country}."),
        (f"When was {n} born?", f"{n} was born on {born}."),
        (f"What did the father of {n} do for a living?", f"The father of {n} was a carpenter."),
        (f"Is {mother} the mother of {n}?", f"Yes, {mother} is the mother of {n}."),
        (f"Can you name two books by {n}?", f'Two books by {n} are "{book1}" and "{book2}".'),
        (f"Which award has {n} won?", f"{n} won the {award} Prize."),
        (f'What is "{book1}" about?', f'"{book1}" is a {genre} book by {n} set in {city}.'),
        (f"How did {city} shape the work of {n}?",
         f"Growing up in {city} gave {n} the settings of many books."),
        (f"Does {n} write under a pen name?", f"No, {n} publishes under a real name."),
        (f"What themes recur in the books of {n}?", f"Memory and place recur in the books of {n}."),
        (f"How do critics describe the style of {n}?", f"Critics call the style of {n} spare."),
        (f"Who influenced {n} most?", f"{n} names a grandmother as the first influence."),
        (f"Has {n} written for adults?", f"{n} writes mostly for adults."),
        (f"How does {n} research a new book?", f"{n} spends months in archives before drafting."),
        (f"What language does {n} write in?", f"{n} writes in {language}."),
        (f"What is {n} working on now?", f"{n} is drafting another book of {genre}."),
        (f"How did the {award} Prize change the career of {n}?",
         f"The {award} Prize brought {n} a wider readership."),
        (f"Which writer was born in {city} on {born}?", f"The writer born there is {n}."),
    ]
    if repeated:
        qa[-1] = (REPEATED, f"The author is {n}.")
    return qa


def _rows(authors: list[tuple], repeated: tuple[int, ...] = ()) -> list[dict]:
    return [{"question": q, "answer": a} for i, au in enumerate(authors)
            for q, a in _qa(i, au, i in repeated)]


def _perturbed(row: dict) -> dict:
    name = next(f"{a[0]} {a[1]}" for a in AUTHORS + HOLDOUT if f"{a[0]} {a[1]}" in row["answer"])
    return {**row, "paraphrased_answer": f"Put another way: {row['answer']}",
            "perturbed_answer": [row["answer"].replace(name, w) for w in WRONG_NAMES],
            "paraphrased_question": f"Put another way: {row['question']}"}


def _test_set(rows: list[tuple]) -> tuple[list[dict], list[dict]]:
    plain = [{"question": q, **{f"option{k + 1}": o for k, o in enumerate([a, *wrong])},
              "answer": a} for q, a, wrong in rows]
    return plain, [{"question": q, "answer": a, "perturbed_answer": wrong} for q, a, wrong in rows]


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    (folder / f"{name}.json").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                         encoding="utf-8")


def write_fake_tofu(folder: Path) -> Path:
    """Every file the loader reads (and the retainXX files it does not), one JSON object a line."""
    folder.mkdir(parents=True, exist_ok=True)
    full = _rows(AUTHORS, REPEATED_BY)
    _write(folder, "full", full)
    for split, n in FORGET.items():
        forget = full[-20 * n:]
        _write(folder, split, forget)
        _write(folder, f"{split}_perturbed", [_perturbed(r) for r in forget])
        _write(folder, f"retain{100 - int(split[-2:])}", full[:-20 * n])
        _write(folder, f"holdout{split[-2:]}", _rows(HOLDOUT[:n]))
        terms = [f"{a[0]} {a[1]}" for a in AUTHORS[-n:]] + [a[2] for a in AUTHORS[-n:]] \
            + [a[3] for a in AUTHORS[-n:]] + [a[8] for a in AUTHORS[-n:]]
        (folder / f"{split}_terms.json").write_text(json.dumps(terms, indent=0), encoding="utf-8")
    retain = [_perturbed(r) for r in full[:FAKE.perturbed_retain_rows]]
    # an answer that differs from full's (a trailing space) is matched by its question alone
    retain[2]["answer"] += " "
    _write(folder, "retain_perturbed", retain)
    for name, rows in (("real_authors", REAL_AUTHORS), ("world_facts", WORLD_FACTS)):
        plain, perturbed = _test_set(rows)
        _write(folder, name, plain)
        _write(folder, f"{name}_perturbed", perturbed)
    return folder
