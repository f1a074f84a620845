"""Near-miss questions made by swapping one name for one the corpus never mentions.

As SQuAD 2.0 made unanswerable questions that look answerable, an answerable question's
country, nationality, place, person or organisation is replaced by another of the same kind
("What did Quang Ninh police donate to Sainyabuli?" -> "... donate to Champasak?"). Names are
found with simple rules (runs of capitalised words after the first word, as the retriever's
own `question_names` finds them); the kind comes from the gazetteer below or from the words
around the name; a replacement qualifies only when none of its words occurs anywhere in the
corpus (`absent_words` against the index's vocabulary). Used by `benchmarks/abstention.py`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from embeddings.search.names import absent_words, question_names
from embeddings.text import fold, words

COUNTRIES = """Philippines|Indonesia|Malaysia|Myanmar|Singapore|Brunei|Japan|South Korea|Mongolia
|Nepal|Bangladesh|Sri Lanka|Pakistan|Kazakhstan|Uzbekistan|Kyrgyzstan|Kenya|Nigeria|Ghana|Peru
|Chile|Colombia|Argentina|Uruguay|Paraguay|Bolivia|Ecuador|Venezuela|Norway|Finland|Denmark
|Iceland|Estonia|Latvia|Lithuania|Hungary|Romania|Bulgaria|Slovakia|Slovenia|Croatia|Serbia
|Albania|Moldova|Belarus|Morocco|Tunisia|Algeria|Ethiopia|Tanzania|Uganda|Zambia|Zimbabwe
|Namibia|Botswana|Mozambique|Madagascar|New Zealand|Fiji|Papua New Guinea|Timor-Leste|Qatar
|Oman|Jordan|Kuwait|Bahrain|Azerbaijan|Armenia|Georgia|Cuba|Jamaica|Honduras|Guatemala
|Nicaragua|Panama|Costa Rica|Senegal|Cameroon|Angola|Rwanda|Malawi|Bhutan|Maldives|Laos
|Cambodia|Thailand|Vietnam|China|India|Australia|France|Germany|Italy|Spain|Poland|Russia
|Canada|Mexico|Brazil|Egypt|Greece|Portugal|Ireland|Sweden|Austria|Switzerland|Netherlands
|Belgium|Turkey|Iran|Iraq|Israel|Syria|Korea|England|Scotland|Britain|America|United States"""
NATIONALITIES = """Filipino|Indonesian|Malaysian|Burmese|Singaporean|Japanese|Korean|Mongolian
|Nepali|Bangladeshi|Pakistani|Kazakh|Kenyan|Nigerian|Ghanaian|Peruvian|Chilean|Colombian
|Argentine|Uruguayan|Bolivian|Norwegian|Finnish|Danish|Icelandic|Estonian|Latvian|Lithuanian
|Hungarian|Romanian|Bulgarian|Slovak|Croatian|Serbian|Albanian|Moroccan|Tunisian|Ethiopian
|Tanzanian|Ugandan|Zambian|Namibian|Fijian|Qatari|Omani|Jordanian|Kuwaiti|Cuban|Jamaican
|Lao|Laotian|Cambodian|Thai|Vietnamese|Chinese|Indian|Australian|French|German|Italian
|Spanish|Polish|Russian|Canadian|Mexican|Brazilian|Egyptian|Greek|Portuguese|Irish|Swedish
|Austrian|Swiss|Dutch|Belgian|Turkish|Iranian|Iraqi|Israeli|Syrian|English|Scottish|British
|American|European|African|Asian"""
PLACES = """Jakarta|Manila|Kuala Lumpur|Yangon|Surabaya|Cebu|Davao|Penang|Mandalay|Osaka|Busan
|Ulaanbaatar|Kathmandu|Dhaka|Karachi|Nairobi|Lagos|Accra|Lima|Santiago|Bogota|Montevideo|Oslo
|Helsinki|Copenhagen|Reykjavik|Tallinn|Riga|Vilnius|Bucharest|Sofia|Bratislava|Zagreb
|Belgrade|Tirana|Casablanca|Tunis|Algiers|Addis Ababa|Dar es Salaam|Kampala|Lusaka|Harare
|Windhoek|Gaborone|Maputo|Auckland|Suva|Doha|Muscat|Amman|Baku|Yerevan|Tbilisi|Havana
|Kingston|Panama City|San Jose|Dakar|Kigali|Thimphu|Champasak|Attapeu|Luang Namtha|Bokeo
|Kampot|Kratie|Mondulkiri|Battambang|Nghe An|Quang Tri|Lang Son|Cao Bang|Ha Giang|Dien Bien
|Kon Tum|Gia Lai|Tay Ninh|An Giang|Kien Giang|Chiang Rai|Songkhla|Nakhon Phanom|Udon Thani"""
PERSONS = """Margaret Okonkwo|Henrik Lindqvist|Tomasz Wieczorek|Ravi Chandrasekhar|Keiko Nakamura
|Joaquim Barreto|Ingrid Solberg|Dmitri Ostrovsky|Amara Nwosu|Lucia Ferreyra|Pham Quoc Trung
|Somsak Wongsawat|Bounthavy Sisouk|Chea Sokhom|Rizal Harahap|Aung Kyaw Thein|Farida Begum
|Kwame Asante|Eamon Gallagher|Sigrid Haugland|Mateus Albuquerque|Yusuf Demirci|Olga Vasylenko"""
ORGANISATIONS = """Philippine Coast Guard|Indonesian National Police|Royal Malaysia Police
|Myanmar Police Force|Japan Coast Guard|Korean National Police Agency|Europol
|Bundeskriminalamt|Kenya Wildlife Service|Nigerian Customs Service|Chilean Carabineros
|Guardia Civil|Garda Siochana|Singapore Civil Defence Force|Brunei Narcotics Control Bureau"""
_ORGS = """Police Ministry Department Agency Bureau Council Committee Assembly Force Forces Army
    Navy Guard University College Company Corporation Party Church Association Institute Office
    Authority Commission Service Club Bank Court Parliament Congress Senate Academy Museum
    Foundation Society Union League"""
_ORG_WORDS = frozenset(fold(w) for w in _ORGS.split())
_BEFORE_PLACES = "in at from to near of into across tinh tai o"
_PLACE_BEFORE = frozenset(_BEFORE_PLACES.split())
_AFTER_PLACES = "police province provincial city border region district department people"
_PLACE_AFTER = frozenset(_AFTER_PLACES.split())
_POSSESSIVE = ("'s", "’s")


def _entries(text: str) -> list[str]:
    return [e.strip() for e in text.replace("\n", "").split("|") if e.strip()]


GAZETTEER = {
    "country": _entries(COUNTRIES), "nationality": _entries(NATIONALITIES),
    "place": _entries(PLACES), "person": _entries(PERSONS),
    "organisation": _entries(ORGANISATIONS),
}
_KIND_OF = {fold(e): kind for kind in ("country", "nationality", "place")
            for e in GAZETTEER[kind]}


@dataclass(frozen=True)
class Swap:
    """An answerable question with one name replaced by one the corpus lacks."""

    question: str
    original: str
    replaced: str
    replacement: str
    kind: str


def kind_of(surface: str, question: str) -> str:
    """The kind of a name: the gazetteer's, else organisation (by its words), place (after
    "in", "from", ..., or before "police", "province", ...), else person."""
    folded = words(surface)
    if " ".join(folded) in _KIND_OF:
        return _KIND_OF[" ".join(folded)]
    if any(w in _ORG_WORDS for w in folded):
        return "organisation"
    at = _find(question, surface)
    before = words(question[:at])
    after = words(question[at + len(surface):])
    if (before and before[-1] in _PLACE_BEFORE) or (after and after[0] in _PLACE_AFTER):
        return "place"
    return "person"


def _find(question: str, surface: str) -> int:
    """Where the name stands in the question: its last whole-word occurrence (the first word
    of a question is never a name, so the last occurrence is the one `question_names` saw)."""
    found = list(re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", question))
    return found[-1].start() if found else -1


class Swapper:
    """Makes entity-swapped questions for one corpus (its vocabulary decides what is absent)."""

    def __init__(self, index: Any, seed: int = 5) -> None:
        self.index = index
        self.rng = random.Random(seed)
        self._absent: dict[str, list[str]] = {}
        for kind, entries in GAZETTEER.items():
            every = [w for e in entries for w in words(e)]
            gone = absent_words(index, every)
            self._absent[kind] = [e for e in entries if all(w in gone for w in words(e))]

    def swaps(self, question: str, language: str, most: int = 1) -> list[Swap]:
        """Up to `most` swapped versions of a question, each replacing one of its names that
        the corpus mentions (numbers are left alone)."""
        out = []
        for surface in self._present_names(question, language)[:most]:
            kind = kind_of(surface, question)
            pool = [e for e in self._absent[kind] if fold(e) != fold(surface)]
            at = _find(question, surface)
            if not pool or at <= 0:
                continue
            replacement = self.rng.choice(pool)
            swapped = question[:at] + replacement + question[at + len(surface):]
            out.append(Swap(swapped, question, surface, replacement, kind))
        return out

    def _present_names(self, question: str, language: str) -> list[str]:
        """The question's names that the corpus mentions, shuffled: possessives without
        their "'s", hyphenated pairs ("Vietnam-Cambodia") and numbers left out."""
        names = []
        for name in question_names(question, language):
            surface = name.surface
            for ending in _POSSESSIVE:
                surface = surface.removesuffix(ending)
            if "-" in surface or any(c.isdigit() for c in surface) or not words(surface):
                continue
            if not absent_words(self.index, words(surface)):
                names.append(surface)
        self.rng.shuffle(names)
        return names
