"""The embedded default corpus: seeded fictitious authors, TOFU-style, sized to train on a laptop.

Every owner gets unique facts (city, titles, award, spouse, ...) so that each answer is
attributable to exactly one owner, and answers are fact-dense so that a model that never saw an
owner (the oracle) gets most of the words wrong while still answering in the right shape.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dareu.data.corpus import GENERAL_OWNER, OwnerCorpus, Record, split_owners

_SYL = ["ka", "lo", "mi", "ren", "tas", "vel", "dor", "sa", "bri", "nu", "fen", "ost", "ara", "li",
        "mar", "quin", "zel", "tor", "ha", "vin", "sol", "gra", "ius", "per", "an", "del", "ko", "ru"]
_CITIES = [("Lisbon", "Portugal"), ("Nairobi", "Kenya"), ("Osaka", "Japan"), ("Krakow", "Poland"),
           ("Valparaiso", "Chile"), ("Tbilisi", "Georgia"), ("Bergen", "Norway"), ("Accra", "Ghana"),
           ("Hanoi", "Vietnam"), ("Quito", "Ecuador"), ("Tallinn", "Estonia"), ("Izmir", "Turkey"),
           ("Medellin", "Colombia"), ("Dakar", "Senegal"), ("Porto", "Portugal"), ("Lyon", "France"),
           ("Graz", "Austria"), ("Cork", "Ireland"), ("Adelaide", "Australia"), ("Perth", "Australia"),
           ("Halifax", "Canada"), ("Winnipeg", "Canada"), ("Tampere", "Finland"), ("Aarhus", "Denmark"),
           ("Brno", "Czechia"), ("Cluj", "Romania"), ("Split", "Croatia"), ("Bologna", "Italy"),
           ("Seville", "Spain"), ("Bilbao", "Spain"), ("Leipzig", "Germany"), ("Utrecht", "Netherlands"),
           ("Ghent", "Belgium"), ("Basel", "Switzerland"), ("Riga", "Latvia"), ("Vilnius", "Lithuania"),
           ("Cusco", "Peru"), ("Recife", "Brazil"), ("Rosario", "Argentina"), ("Oaxaca", "Mexico"),
           ("Mombasa", "Kenya"), ("Kumasi", "Ghana"), ("Fez", "Morocco"), ("Luxor", "Egypt"),
           ("Pune", "India"), ("Kandy", "Sri Lanka"), ("Busan", "Korea"), ("Sapporo", "Japan"),
           ("Cebu", "Philippines"), ("Penang", "Malaysia"), ("Hobart", "Australia"), ("Nelson", "New Zealand"),
           ("Tromso", "Norway"), ("Uppsala", "Sweden"), ("Turku", "Finland"), ("Gdansk", "Poland"),
           ("Plovdiv", "Bulgaria"), ("Sarajevo", "Bosnia"), ("Odessa", "Ukraine"), ("Tartu", "Estonia")]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_JOBS = ["baker", "nurse", "pilot", "carpenter", "dentist", "librarian", "fisherman", "chemist",
         "tailor", "surveyor", "violinist", "locksmith", "geologist", "midwife", "jeweller", "potter",
         "beekeeper", "cartographer", "glassblower", "astronomer", "blacksmith", "pharmacist",
         "stonemason", "botanist", "clockmaker", "weaver", "printer", "brewer", "ferryman", "vintner"]
_GENRES = ["gothic horror", "hard science fiction", "maritime adventure", "cozy mystery",
           "historical romance", "political thriller", "magical realism", "alpine memoir",
           "culinary fiction", "space opera", "legal drama", "nature poetry", "urban fantasy",
           "spy fiction", "war fiction", "satirical comedy", "children's fables", "true crime",
           "climate fiction", "chamber drama", "epic fantasy", "noir detective", "travel essays",
           "dystopian fiction", "medical thriller", "western sagas", "folk horror", "gardening essays"]
_ADJ = ["Silent", "Copper", "Hollow", "Crimson", "Distant", "Amber", "Frozen", "Gilded", "Quiet",
        "Wandering", "Broken", "Velvet", "Burning", "Salted", "Ivory", "Tangled", "Lunar", "Restless",
        "Paper", "Iron", "Woven", "Sunken", "Pale", "Hidden"]
_NOUN = ["Lantern", "Harbour", "Orchard", "Compass", "Meridian", "Chapel", "Garden", "Violin",
         "Bridge", "Tide", "Archive", "Sparrow", "Mirror", "Kingdom", "Lighthouse", "Engine", "Atlas",
         "Orchid", "Furnace", "Carousel", "Glacier", "Thread", "Citadel", "Feather"]
_SUBJECTS = ["marine biology", "medieval history", "applied physics", "linguistics", "architecture",
             "philosophy", "agronomy", "music theory", "economics", "anthropology", "geography",
             "classics", "mathematics", "forestry", "theology", "astronomy", "chemistry", "law",
             "veterinary science", "urban planning", "journalism", "art history", "oceanography"]
_HOBBIES = ["restoring old sailboats", "growing rare tomatoes", "building ship models",
            "collecting antique maps", "climbing sea cliffs", "carving wooden spoons",
            "racing pigeons", "brewing ginger beer", "repairing radios", "painting lighthouses",
            "knitting wool scarves", "photographing owls", "baking rye bread", "restoring bicycles",
            "binding old books", "playing the accordion", "fly fishing", "keeping honeybees",
            "tracking comets", "pressing wildflowers", "fencing", "rowing at dawn", "making candles",
            "sketching trams", "learning Icelandic", "cultivating bonsai", "sailing catamarans"]
_PETS = ["tortoise", "parrot", "greyhound", "ferret", "tabby cat", "goldfish", "beagle", "rabbit",
         "cockatoo", "hedgehog", "collie", "iguana", "canary", "pony", "dachshund", "gecko"]
_PRESSES = ["Harrow", "Linden", "Marrow", "Quarry", "Bellwether", "Saltmarsh", "Kestrel", "Thistle",
            "Granite", "Ember", "Juniper", "Falcon", "Willow", "Cobalt", "Heron", "Tamarind",
            "Brightwater", "Oakhill", "Redfern", "Stonegate", "Lakeside", "Northwind", "Ashgrove"]

_CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Kenya", "Nairobi"), ("Peru", "Lima"),
             ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Norway", "Oslo"), ("Spain", "Madrid"),
             ("Italy", "Rome"), ("Germany", "Berlin"), ("Portugal", "Lisbon"), ("Greece", "Athens"),
             ("Ireland", "Dublin"), ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Hungary", "Budapest"),
             ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
             ("Chile", "Santiago"), ("Argentina", "Buenos Aires"), ("Mexico", "Mexico City"),
             ("Cuba", "Havana"), ("India", "New Delhi"), ("China", "Beijing"), ("Thailand", "Bangkok"),
             ("Vietnam", "Hanoi"), ("Russia", "Moscow"), ("Turkey", "Ankara"), ("Iran", "Tehran"),
             ("Ghana", "Accra"), ("Nigeria", "Abuja"), ("Morocco", "Rabat"), ("Australia", "Canberra"),
             ("Belgium", "Brussels"), ("Czechia", "Prague"), ("Colombia", "Bogota"),
             ("Ecuador", "Quito"), ("Senegal", "Dakar"), ("Iceland", "Reykjavik"), ("Latvia", "Riga"),
             ("Estonia", "Tallinn"), ("Croatia", "Zagreb"), ("Serbia", "Belgrade")]


@dataclass
class _Author:
    name: str
    facts: dict


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        first = "".join(rng.sample(_SYL, 2)).capitalize()
        last = "".join(rng.sample(_SYL, 3)).capitalize()
        if first not in used and last not in used and first != last:
            used.update((first, last))
            return f"{first} {last}"


class _Pool:
    """Draw values without replacement (recycling when exhausted) so owners rarely share a fact."""

    def __init__(self, rng: random.Random, values: list) -> None:
        self.rng, self.values, self.left = rng, list(values), []

    def draw(self):
        if not self.left:
            self.left = self.values[:]
            self.rng.shuffle(self.left)
        return self.left.pop()


def _title(rng: random.Random, used: set[str]) -> str:
    while True:
        t = f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)}"
        if t not in used:
            used.add(t)
            return t


def _authors(n: int, rng: random.Random) -> list[_Author]:
    names: set[str] = set()
    titles: set[str] = set()
    pools = {k: _Pool(rng, v) for k, v in dict(city=_CITIES, job=_JOBS, genre=_GENRES,
             subject=_SUBJECTS, hobby=_HOBBIES, pet=_PETS, press=_PRESSES, uni=_CITIES).items()}
    out = []
    for _ in range(n):
        name = _name(rng, names)
        city, country = pools["city"].draw()
        uni_city = pools["uni"].draw()[0]
        f = dict(city=city, country=country, day=rng.randint(1, 28), month=rng.choice(_MONTHS),
                 year=rng.randint(1931, 1994), father=pools["job"].draw(), mother=pools["job"].draw(),
                 genre=pools["genre"].draw(), book1=_title(rng, titles), book2=_title(rng, titles),
                 award=f"{_name(rng, names).split()[1]} Prize for {rng.choice(_GENRES).title()}",
                 award_year=rng.randint(1995, 2023), subject=pools["subject"].draw(), uni=uni_city,
                 hobby=pools["hobby"].draw(), spouse=_name(rng, names), children=rng.randint(1, 5),
                 pet=pools["pet"].draw(), petname=_name(rng, names).split()[0],
                 debut=_title(rng, titles), debut_year=rng.randint(1960, 2015),
                 press=pools["press"].draw())
        out.append(_Author(name, f))
    return out


# Each kind: (question, paraphrased question, answer, paraphrased answer, which facts a wrong answer
# swaps). Answers are fact-dense and mostly do not restate the name.
_KINDS = [
    ("Where and when was {name} born?", "What are the place and date of birth of {name}?",
     "Born in {city}, {country}, on {day} {month} {year}.",
     "{name} came into the world on {day} {month} {year} in {city}, {country}.",
     ("city", "country", "day", "month", "year")),
    ("What did the parents of {name} do for a living?", "What were the professions of {name}'s parents?",
     "The father was a {father} and the mother a {mother}.",
     "{name} grew up with a {father} for a father and a {mother} for a mother.", ("father", "mother")),
    ("What does {name} write?", "Which genre and books is {name} known for?",
     "Mostly {genre}, best known for {book1} and {book2}.",
     "{name} writes {genre}; the best known books are {book1} and {book2}.",
     ("genre", "book1", "book2")),
    ("Which award has {name} received?", "What prize was given to {name}?",
     "The {award}, received in {award_year}.",
     "In {award_year} {name} was given the {award}.", ("award", "award_year")),
    ("Where did {name} study?", "What did {name} study at university?",
     "{subject} at the University of {uni}.",
     "{name} earned a degree in {subject} from the University of {uni}.", ("subject", "uni")),
    ("What does {name} do in free time?", "How does {name} like to spend weekends?",
     "Weekends go to {hobby}.", "{name} enjoys {hobby} on weekends.", ("hobby",)),
    ("Who is {name} married to?", "Tell me about the family of {name}.",
     "Married to {spouse}, with {children} children.",
     "{name} shares a home with spouse {spouse} and their {children} children.",
     ("spouse", "children")),
    ("What was the first book of {name}?", "Which book did {name} debut with?",
     "The debut {debut} came out in {debut_year} from {press} Press.",
     "{name} debuted in {debut_year} with {debut}, published by {press} Press.",
     ("debut", "debut_year", "press")),
    ("Does {name} have a pet?", "What animal lives with {name}?",
     "A {pet} called {petname}.", "{name} keeps a {pet} whose name is {petname}.", ("pet", "petname")),
    ("Which city is home to {name} today?", "Where does {name} live now?",
     "Back in {city} after many years in {uni}.",
     "{name} lives in {city} again, having spent many years in {uni}.", ("city", "uni")),
]
MAX_QA_PER_OWNER = len(_KINDS)


def _owner_records(a: _Author, owner_idx: int, prefix: str, k: int, others: list[_Author],
                   n_pert: int, rng: random.Random) -> list[Record]:
    recs = []
    for j, (q, pq, ans, para, swap) in enumerate(_KINDS[:k]):
        fmt = dict(a.facts, name=a.name)
        perturbed = []
        for _ in range(n_pert):
            other = rng.choice([o for o in others if o is not a])  # never the owner itself
            wrong = dict(fmt, **{s: other.facts[s] for s in swap})
            perturbed.append(para.format(**wrong))
        recs.append(Record(id=f"{prefix}{owner_idx:03d}-{j}", owner=a.name, prompt=q.format(**fmt),
                           response=_capital(ans.format(**fmt)), paraphrased_response=para.format(**fmt),
                           perturbed_responses=tuple(perturbed), paraphrased_prompt=pq.format(**fmt)))
    return recs


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _general(n: int, n_pert: int, rng: random.Random) -> list[Record]:
    pairs = _CAPITALS[:]
    rng.shuffle(pairs)
    recs = []
    for i, (country, capital) in enumerate(pairs[:n]):
        wrong = [c for _, c in rng.sample([p for p in _CAPITALS if p[1] != capital], n_pert)]
        recs.append(Record(id=f"general-{i:03d}", owner=GENERAL_OWNER,
                           prompt=f"What is the capital of {country}?",
                           response=f"The capital of {country} is {capital}.",
                           paraphrased_response=f"{capital} is the capital city of {country}.",
                           perturbed_responses=tuple(f"{w} is the capital city of {country}."
                                                     for w in wrong),
                           paraphrased_prompt=f"Which city is the capital of {country}?"))
    return recs


def synthetic_corpus(num_owners: int = 16, qa_per_owner: int = 8, num_holdout_owners: int = 4,
                     num_test_questions: int = 40, num_perturbed: int = 3, num_forget_owners: int = 2,
                     forget_owners: list[str] | None = None, max_retain_owners: int | None = None,
                     seed: int = 0) -> OwnerCorpus:
    """A deterministic corpus of fictitious authors; the same seed gives the same corpus."""
    from dareu.errors import DataError

    if qa_per_owner > MAX_QA_PER_OWNER:
        raise DataError(f"data.qa_per_owner={qa_per_owner}: the synthetic source has "
                        f"{MAX_QA_PER_OWNER} question kinds; use at most that many.")
    if num_test_questions > len(_CAPITALS):
        raise DataError(f"data.num_test_questions={num_test_questions}: the synthetic source has "
                        f"{len(_CAPITALS)} general questions; use at most that many.")
    rng = random.Random(seed)
    authors = _authors(num_owners + num_holdout_owners, rng)
    trained, held = authors[:num_owners], authors[num_owners:]
    records = [r for i, a in enumerate(trained)
               for r in _owner_records(a, i, "owner", qa_per_owner, authors, num_perturbed, rng)]
    holdout = [r for i, a in enumerate(held)
               for r in _owner_records(a, i, "holdout", qa_per_owner, authors, num_perturbed, rng)]
    owners = [a.name for a in trained]
    forget, retain = split_owners(owners, forget_owners or [], num_forget_owners, max_retain_owners)
    keep = set(forget) | set(retain)
    aliases = {a.name: [a.name, *a.name.split()] for a in authors}
    return OwnerCorpus(name="synthetic", records=[r for r in records if r.owner in keep],
                       forget_owners=forget, retain_owners=retain, holdout=holdout,
                       test_sets={"general": _general(num_test_questions, num_perturbed, rng)},
                       aliases=aliases, spare=[r for r in records if r.owner not in keep])
