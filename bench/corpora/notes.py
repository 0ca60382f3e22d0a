"""A third corpus of another shape: owners' short notes (document mode), no QA, no paraphrases.

    python bench/corpora/notes.py OUT.jsonl [--writers 24] [--notes 6] [--seed 0]

Each writer has private facts (a street, a workshop craft, a sibling, a rival club, a recipe,
a boat, a teacher, a childhood town) and writes `--notes` short notes, each telling two or three
of them in one of several prose frames. Rows: {"writer", "note", "part"}; `part` is `holdout` for
the last 3 writers (never trained on) and `test` for 30 owner-free notes about the seasons and
the weather (the utility test set). Read it with
`data.source=files data.document_mode=true data.owner_field=writer data.text_field=note
data.split_field=part data.prompt_words=6`.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

CRAFTS = ["bookbinding", "glassblowing", "clock repair", "weaving", "pottery", "violin making",
          "lacquer work", "blacksmithing", "basketry", "letterpress", "saddle making", "mosaics",
          "candle making", "boat building", "stone carving", "quilting", "engraving", "tanning",
          "rope making", "kite making", "papermaking", "felt making", "cooperage", "thatching"]
STREETS = ["Lantern", "Cobbler", "Orchard", "Foundry", "Mariner", "Chestnut", "Quarry", "Weaver",
           "Beacon", "Tannery", "Meadow", "Granary", "Harbour", "Juniper", "Saltworks", "Bellfry",
           "Millrace", "Ferry", "Kiln", "Almond", "Pilgrim", "Rookery", "Cistern", "Larch"]
TOWNS = ["Ostrava", "Tromso", "Ghent", "Arles", "Bergamo", "Cadiz", "Kaunas", "Plovdiv", "Tartu",
         "Braga", "Lund", "Aarhus", "Kotor", "Sibiu", "Ohrid", "Trogir", "Ronda", "Hallstatt",
         "Colmar", "Dinant", "Pecs", "Bled", "Mostar", "Nafplio"]
CLUBS = ["the Red Herons", "the Gull Rovers", "the Iron Owls", "the Blue Otters", "the Night Larks",
         "the Copper Foxes", "the Marsh Harriers", "the Tide Wolves", "the Amber Stags",
         "the Salt Badgers", "the Green Ravens", "the Frost Hares"]
DISHES = ["plum dumplings", "barley stew", "fennel soup", "walnut bread", "smoked trout pie",
          "saffron rice", "beetroot pancakes", "quince jam", "lentil cakes", "sorrel omelette",
          "pepper goulash", "apricot tart", "herring salad", "chestnut porridge"]
BOATS = ["a green dinghy", "a yellow canoe", "an old ketch", "a red rowing boat", "a small catboat",
         "a white sloop", "a blue kayak", "a wooden punt", "a tarred skiff", "a narrow gig"]
NAMES = ["Ilse", "Marek", "Odile", "Tomas", "Venla", "Aurel", "Brisa", "Casimir", "Dagny", "Emeric",
         "Fenna", "Gustav", "Halina", "Ivo", "Jorun", "Kasia", "Lorcan", "Mirela", "Nils", "Ottilie",
         "Pavel", "Quirin", "Rasa", "Sander", "Tove", "Ugo", "Vesna", "Wendel", "Xenia", "Yorick"]
FRAMES = [
    "This morning I walked down {street} Street again. {a} Later, {b}",
    "Dear friend, little news from here. {a} And {b}",
    "Note to self: {a} Also, {b} {c}",
    "Another long day at the bench. {a} {b}",
    "It rained all week. {a} When it cleared, {b} {c}",
]
FACTS = [
    "my {craft} orders kept me busy until dark.",
    "my sister {sibling} phoned from {town}, where we grew up.",
    "I cooked {dish}, the way my teacher {teacher} showed me.",
    "{rival} beat our club again on Sunday.",
    "I took {boat} out past the breakwater.",
    "old {teacher} still asks about my {craft}.",
    "the house on {street} Street needs a new roof.",
    "{sibling} says {town} has not changed at all.",
]
WEATHER = ["Spring brings long evenings and the first swallows.",
           "Autumn fog settles over the river most mornings.",
           "Winter nights are long and the lakes freeze over.",
           "Summer storms roll in from the west after noon.",
           "In March the snow melts and the streams run high.",
           "By October the leaves have turned and fallen."]


def writers(n: int, rng: random.Random) -> list[dict]:
    names = rng.sample(NAMES, k=min(n * 2, len(NAMES)))
    out = []
    for i in range(n):
        out.append(dict(id=f"writer_{i:02d}", craft=CRAFTS[i % len(CRAFTS)],
                        street=STREETS[i % len(STREETS)], town=TOWNS[(i * 7) % len(TOWNS)],
                        rival=CLUBS[(i * 5) % len(CLUBS)], dish=DISHES[(i * 3) % len(DISHES)],
                        boat=BOATS[(i * 7) % len(BOATS)], sibling=names[i % len(names)],
                        teacher=names[(i + n) % len(names)]))
    return out


def notes(w: dict, k: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(k):
        frame = rng.choice(FRAMES)
        a, b, c = rng.sample(FACTS, 3)
        text = frame.format(street=w["street"], a=a.format(**w), b=b.format(**w), c=c.format(**w))
        out.append(text[:1].upper() + text[1:])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--writers", type=int, default=24)
    p.add_argument("--notes", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    rows = []
    ws = writers(a.writers, rng)
    for i, w in enumerate(ws):
        part = "holdout" if i >= a.writers - 3 else ""
        rows += [{"writer": w["id"], "note": t, "part": part} for t in notes(w, a.notes, rng)]
    for j in range(30):
        s1, s2 = rng.sample(WEATHER, 2)
        rows.append({"writer": "", "note": f"{s1} {s2}", "part": "test"})
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows ({a.writers} writers x {a.notes} notes + 30 test notes) to {path}")


if __name__ == "__main__":
    main()
