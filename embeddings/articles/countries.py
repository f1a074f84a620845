"""The countries an article is about, read from its title, dateline and body with a gazetteer
of country names and demonyms in English and Vietnamese ("Laos", "Lao", "Lào"; "Cambodia",
"Cambodian", "Campuchia").

Names are matched as written (capitalised): "Lao police" names Laos, "a thai dish" nothing,
and a Vietnamese word that is also a common word ("Nga", Russia, against "nga") counts only
capitalised. A country counts when its names appear at least `MIN_MENTIONS` times, or once
in the title or the dateline, so that a passing mention ("like Japan did") is not what an
article is about. The list is ordered by mentions, most first.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache

MIN_MENTIONS = 2

# Canonical English name: the other ways articles and questions write it (names, demonyms,
# Vietnamese). Longer names are matched first ("North Korea" before "Korea").
GAZETTEER: dict[str, tuple[str, ...]] = {
    "Vietnam": ("Viet Nam", "Vietnamese", "Việt Nam"),
    "Laos": ("Lao PDR", "Lao", "Laotian", "Lào"),
    "Thailand": ("Thai", "Thái Lan"),
    "Cambodia": ("Cambodian", "Khmer", "Campuchia", "Cam-pu-chia"),
    "Myanmar": ("Burma", "Burmese", "Mi-an-ma"),
    "Malaysia": ("Malaysian",),
    "Singapore": ("Singaporean", "Xin-ga-po"),
    "Indonesia": ("Indonesian", "In-đô-nê-xi-a"),
    "Philippines": ("Philippine", "Filipino", "Phi-líp-pin", "Philippin"),
    "Brunei": ("Bruneian",),
    "Timor-Leste": ("East Timor", "Đông Timor"),
    "China": ("Chinese", "Trung Quốc"),
    "Japan": ("Japanese", "Nhật Bản"),
    "South Korea": ("Republic of Korea", "Korea", "Korean", "Hàn Quốc"),
    "North Korea": ("Democratic People's Republic of Korea", "DPRK", "North Korean",
                    "Triều Tiên"),
    "India": ("Indian", "Ấn Độ"),
    "Australia": ("Australian", "Úc", "Ô-xtrây-li-a"),
    "United States": ("United States of America", "U.S.", "USA", "US", "American",
                      "Hoa Kỳ", "Mỹ"),
    "United Kingdom": ("UK", "Britain", "British", "Vương quốc Anh"),
    "France": ("French", "Pháp"),
    "Germany": ("German", "CHLB Đức"),
    "Russia": ("Russian", "Russian Federation", "Liên bang Nga"),
    "Canada": ("Canadian",),
    "Taiwan": ("Taiwanese", "Đài Loan"),
    "Bangladesh": ("Bangladeshi",),
    "Pakistan": ("Pakistani",),
    "Sri Lanka": ("Sri Lankan",),
    "Nepal": ("Nepalese", "Nepali"),
    "Mongolia": ("Mongolian", "Mông Cổ"),
    "New Zealand": ("New Zealander",),
    "Italy": ("Italian", "Italia"),
    "Spain": ("Spanish", "Tây Ban Nha"),
    "Netherlands": ("Dutch", "Hà Lan"),
    "Israel": ("Israeli",),
    "Iran": ("Iranian",),
    "Ukraine": ("Ukrainian",),
    "Cuba": ("Cuban",),
}

VIETNAMESE = {
    "Vietnam": "Việt Nam", "Laos": "Lào", "Thailand": "Thái Lan", "Cambodia": "Campuchia",
    "Myanmar": "Myanmar", "Malaysia": "Malaysia", "Singapore": "Singapore",
    "Indonesia": "Indonesia", "Philippines": "Philippines", "Brunei": "Brunei",
    "Timor-Leste": "Timor-Leste", "China": "Trung Quốc", "Japan": "Nhật Bản",
    "South Korea": "Hàn Quốc", "North Korea": "Triều Tiên", "India": "Ấn Độ",
    "Australia": "Australia", "United States": "Hoa Kỳ", "United Kingdom": "Vương quốc Anh",
    "France": "Pháp", "Germany": "Đức", "Russia": "Nga", "Canada": "Canada",
    "Taiwan": "Đài Loan", "Mongolia": "Mông Cổ", "Italy": "Italia", "Spain": "Tây Ban Nha",
    "Netherlands": "Hà Lan",
}
"""How Vietnamese readers name a country (the English name where they use it as is)."""


def country_label(country: str, lang: str) -> str:
    """A country's canonical name as a reader of `lang` ('vi' or 'en') writes it."""
    return VIETNAMESE.get(country, country) if lang == "vi" else country


NOT_COUNTRIES = ("Lào Cai", "Lao Cai", "Thái Bình", "Thai Binh", "Thái Nguyên", "Thai Nguyen",
                 "Indian Ocean", "Chinese New Year", "Korean Peninsula")
"""Places and phrases that begin with a country's name and are not about it: matched first,
then ignored (Lào Cai is a Vietnamese province)."""


def _fold(text: str) -> str:
    """Lower case without accents: how a typed filter ("lao", "Lào", "LAOS") is compared."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@cache
def _pattern() -> re.Pattern[str]:
    names = sorted({n for c, more in GAZETTEER.items() for n in (c, *more)} | set(NOT_COUNTRIES),
                   key=len, reverse=True)
    # Word edges that know Vietnamese letters; "US" must not match inside "USAID" or "thus".
    body = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![\w.-])(?:{body})(?![\w-])")


@cache
def _canonical() -> dict[str, str]:
    return {n: c for c, more in GAZETTEER.items() for n in (c, *more)}


@cache
def _folded_names() -> dict[str, str]:
    return {_fold(n): c for c, more in GAZETTEER.items() for n in (c, *more)}


def mentions(text: str) -> Counter[str]:
    """How often each country is named in `text`."""
    canonical = _canonical()
    return Counter(canonical[m.group(0)] for m in _pattern().finditer(text)
                   if m.group(0) in canonical)


def countries_in(title: str, place: str | None, body: Iterable[str]) -> tuple[str, ...]:
    """The countries an article is about (see the module docstring), most mentioned first."""
    head = mentions(title) + mentions(place or "")
    counts = head + mentions("\n".join(body))
    kept = [c for c, n in counts.items() if n >= MIN_MENTIONS or head[c]]
    return tuple(sorted(kept, key=lambda c: (-counts[c], c)))


def country_named(text: str) -> str | None:
    """The canonical name of the country `text` names, however typed ("lao", "Lào",
    "thai lan"), or None."""
    return _folded_names().get(_fold(text.strip().replace("_", " ")))
