"""A Vietnamese-English glossary of the corpus's domain, for keyword search on Vietnamese questions.

The articles are English; a Vietnamese question shares only names with them ("Sainyabuli",
"Quảng Ninh"). Expanding the domain's common terms into English gives BM25 something to match
and gives the abstention rule evidence that the question is about this corpus at all.

Phrases match with their diacritics. Without them Vietnamese syllables collide ("tỉnh"
province, "tính" compute, "tình" feeling all fold to "tinh"), so a question typed without
accents matches only phrases of two or more syllables, which rarely collide.
"""

from __future__ import annotations

import re
import unicodedata

from embeddings.text import fold

_ENTRIES = """
bộ công an = ministry public security
công an = police / public security
cảnh sát = police
lực lượng = force / forces
thứ trưởng = deputy minister
bộ trưởng = minister
tổng tư lệnh = commissioner general / commander
tư lệnh = commander
phó = deputy / vice
giám đốc = director
trưởng phòng = head department
tướng = general
thiếu tướng = major general
trung tướng = lieutenant general
thượng tướng = senior lieutenant general
đại tướng = general
đại tá = colonel
thượng tá = lieutenant colonel
hoàng gia = royal
quốc hội = national assembly
chủ tịch = chairman / president
thủ tướng = prime minister
hội đồng an ninh quốc gia = national security council
tổng thư ký = general secretary
an ninh = security
trật tự = order
hợp tác = cooperation / cooperate
song phương = bilateral
đa phương = multilateral
tội phạm = crime / crimes / criminals
ma túy = drug / drugs
ma tuý = drug / drugs
phòng chống = prevention / combat / fight
đấu tranh = fight / combat
buôn bán người = human trafficking
mua bán người = human trafficking
buôn lậu = smuggling
xuất nhập cảnh trái phép = illegal immigration
nhập cảnh trái phép = illegal immigration
cư trú trái phép = illegal residence
khủng bố = terrorism / terrorist
rửa tiền = money laundering
lừa đảo = fraud / scam
tội phạm mạng = cybercrime / cyber
tội phạm công nghệ cao = cybercrime
vũ khí = weapons
quân sự = military
truy nã = wanted
bỏ trốn = fugitives / escaping
dẫn độ = extradition
bắt giữ = arrest / arresting
bàn giao = handing over
điều tra = investigation / investigating
biên giới = border / borderline
cửa khẩu = border gate
biên bản ghi nhớ = memorandum understanding
ghi nhớ = memorandum
thỏa thuận = agreement
thoả thuận = agreement
hiệp định = agreement
ký kết = signed / sign
kí kết = signed / sign
hội nghị = conference / meeting
cuộc họp = meeting
hội đàm = talks / meeting
hội thảo = workshop
tập huấn = training / workshop
đào tạo = training
nâng cao năng lực = capacity / improve
năng lực = capacity
trao đổi thông tin = information exchange
đường dây nóng = hotlines
sĩ quan liên lạc = liaison officers
đoàn công tác = delegation
đoàn = delegation
chuyến thăm = visit
thăm = visit / visited
làm việc = working session
tặng quà = presented gifts
tham nhũng = corruption
máy tính xách tay = laptops
đô la = dollars
kế hoạch = plan
hằng năm = annual
hàng năm = annual
pháp luật = law / laws
tỉnh = province / provincial
việt nam = Vietnam / vietnamese
lào = Laos / lao
thái lan = Thailand / thai
campuchia = Cambodia / cambodian
trung quốc = China / chinese
hoa kỳ = United States
mỹ = United States / american
nhật bản = Japan
hàn quốc = Korea
úc = Australia
ấn độ = India
quảng ninh = Quang Ninh
hà nội = Hanoi
thành phố hồ chí minh = Ho Chi Minh City
đông nam á = Southeast Asia
interpol = Interpol
"""


def _parse(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(phrase -> every English word, lower case; phrase -> the rendering to name it by: the
    first of its alternatives, which " / " separates, capitalised for a proper name)."""
    table: dict[str, tuple[str, ...]] = {}
    shown: dict[str, str] = {}
    for line in text.strip().splitlines():
        phrase, _, english = line.partition("=")
        table[phrase.strip()] = tuple(english.replace("/", " ").lower().split())
        shown[phrase.strip()] = english.split("/")[0].strip()
    return table, shown


VI_TO_EN, _SHOWN = _parse(_ENTRIES)
_FOLDED = {fold(p).replace("đ", "d"): p for p in VI_TO_EN if " " in p}


def _alternation(phrases: list[str]) -> re.Pattern[str]:
    # Longest phrases first, so "bộ công an" wins over "công an".
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)")


_ACCENTED_RE = _alternation(list(VI_TO_EN))
_FOLDED_RE = _alternation(list(_FOLDED))


def glossary_matches(question: str) -> list[tuple[str, ...]]:
    """The English renderings of each glossary phrase found in a Vietnamese question."""
    text = unicodedata.normalize("NFC", question).lower()
    found = [VI_TO_EN[m.group(1)] for m in _ACCENTED_RE.finditer(text)]
    found += [VI_TO_EN[_FOLDED[m.group(1)]]
              for m in _FOLDED_RE.finditer(fold(question).replace("đ", "d"))]
    return list(dict.fromkeys(found))


def english_terms(question: str) -> list[str]:
    """English words for the glossary phrases in a Vietnamese question, in order, deduplicated."""
    return list(dict.fromkeys(word for group in glossary_matches(question) for word in group))


def glossary_phrases(question: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(the question's words, the English rendering to name them by, every English word) for
    each glossary phrase it holds, in the order `glossary_matches` finds them.

    The rendering of a proper name is capitalised ("Japan"), that of a term is not ("drug").
    """
    text = unicodedata.normalize("NFC", question)
    lowered, folded = text.lower(), fold(text).replace("đ", "d")
    found: list[tuple[str, str]] = []
    for source, accented in ((lowered, True), (folded, False)):
        pattern = _ACCENTED_RE if accented else _FOLDED_RE
        same = len(source) == len(text)  # then offsets carry over to the question's case
        for m in pattern.finditer(source):
            phrase = m.group(1) if accented else _FOLDED[m.group(1)]
            found.append((text[m.start(1) : m.end(1)] if same else m.group(1), phrase))
    out: dict[tuple[str, ...], tuple[str, str, tuple[str, ...]]] = {}
    for words, phrase in found:
        out.setdefault(VI_TO_EN[phrase], (words, _SHOWN[phrase], VI_TO_EN[phrase]))
    return list(out.values())
