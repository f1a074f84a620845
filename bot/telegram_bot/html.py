"""Telegram HTML primitives: escaping, lengths as Telegram counts them, and splitting.

Telegram's HTML mode knows only a few tags (b, i, u, s, a, code, pre, blockquote, tg-spoiler);
every other ``<``, ``>`` and ``&`` must be escaped. A message holds 4096 characters counted in
UTF-16 code units of the *visible* text, after entities are parsed. We count the whole HTML
string instead: tags and entities only add to it, so that count is an upper bound and a message
within it is never refused for its length.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

MAX_MESSAGE = 4096

# Control characters but \n and \t (Telegram rejects some, and none reads well) and lone
# surrogates (they cannot be encoded in the UTF-8 a request is sent in).
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_HTTP_URL = re.compile(r"https?://[^\s<>\"'\\]{1,2000}")
# A message as atoms that may never be cut: tags, entities, single characters.
_ATOM = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|.", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)")
SENTENCE_END = ".!?…"


def clean(text: str) -> str:
    """``text`` without the characters Telegram rejects or that cannot be sent."""
    return _UNWANTED.sub("", text)


def escape(text: str) -> str:
    """Cleaned ``text``, safe as Telegram HTML (``&``, ``<`` and ``>`` escaped)."""
    return html.escape(clean(text), quote=False)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def shorten(text: str, limit: int) -> str:
    """Cleaned ``text`` on one line, cut to ``limit`` UTF-16 units with "…" if longer."""
    flat = " ".join(clean(text).split())
    if utf16_len(flat) <= limit:
        return flat
    cut = flat[: max(limit - 1, 0)]
    while utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) // 2:  # a word boundary that keeps most of the text
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit(text: str, budget: int = MAX_MESSAGE) -> str:
    """``text`` if it fits ``budget``, else its first part (a last resort that stays valid)."""
    if utf16_len(text) <= budget:
        return text
    parts = split_message(text, budget)
    return parts[0] if parts else ""


def safe_url(url: str | None) -> str | None:
    """``url`` escaped for an href, or None when Telegram could refuse it."""
    if not url or not _HTTP_URL.fullmatch(url.strip()):
        return None
    return html.escape(url.strip(), quote=True)


Stack = list[tuple[str, str]]
"""Tags open at a point: (name, opening tag as written), outermost first."""


def _tag(atom: str) -> tuple[bool, str] | None:
    """(is closing, name) for a tag atom, None for text and entities."""
    match = _TAG.match(atom) if len(atom) > 2 and atom.endswith(">") else None
    return (bool(match.group(1)), match.group(2).lower()) if match else None


def _apply(stack: Stack, atom: str) -> None:
    """Update ``stack`` for one atom: push an opening tag, pop the tag a closing one ends."""
    tag = _tag(atom)
    if tag is None:
        return
    closing, name = tag
    if not closing:
        stack.append((name, atom))
        return
    for k in range(len(stack) - 1, -1, -1):
        if stack[k][0] == name:
            del stack[k]
            return


def _closing(stack: Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _reach(atoms: list[str], i: int, stack: Stack, limit: int) -> int:
    """The furthest j such that atoms[i:j], with ``stack`` reopened and closed, fits."""
    open_now = list(stack)
    used = utf16_len("".join(tag for _, tag in stack) + _closing(stack))
    j = i
    while j < len(atoms):
        after = list(open_now)
        _apply(after, atoms[j])
        # Net growth: the atom, plus the closing tag it will need or minus the one it ends.
        step = utf16_len(atoms[j]) + utf16_len(_closing(after)) - utf16_len(_closing(open_now))
        if used + step > limit:
            break
        used, open_now, j = used + step, after, j + 1
    return j


def _is_cut(atoms: list[str], k: int, rank: int) -> bool:
    """Whether a cut before atoms[k] is a boundary of ``rank``: 0 paragraph, 1 line,
    2 sentence end, 3 space."""
    prev = atoms[k - 1]
    if rank == 0:
        return prev == "\n" and k >= 2 and atoms[k - 2] == "\n"
    if rank == 1:
        return prev == "\n"
    if rank == 2:
        return prev.isspace() and k >= 2 and atoms[k - 2] in SENTENCE_END  # atoms: 1 char or tag
    return prev.isspace()


def _best_cut(atoms: list[str], i: int, reach: int) -> int:
    """Where to end the part that may run from atoms[i] to atoms[reach - 1].

    The best boundary in the part's second half, so parts stay long; else a hard cut that
    leaves no opening tag dangling at the end.
    """
    if reach >= len(atoms):
        return reach
    low = max(i + 1, i + (reach - i) // 2)
    for rank in range(4):
        found = next((k for k in range(reach, low - 1, -1) if _is_cut(atoms, k, rank)), None)
        if found is not None:
            return found
    k = reach
    while k > i + 1 and (tag := _tag(atoms[k - 1])) is not None and not tag[0]:
        k -= 1
    return k


def _visible(atoms: Sequence[str]) -> bool:
    return any(_tag(a) is None and not a.isspace() for a in atoms)


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` (Telegram HTML) in parts of at most ``limit`` UTF-16 units.

    Parts end at paragraph breaks, else line breaks, sentence ends, spaces, or anywhere but
    inside a tag or an entity. Tags open at a cut are closed at the end of the part and
    reopened at the start of the next one. Whitespace around cuts and parts with no visible
    text are dropped (Telegram refuses empty messages).

    Raises:
        ValueError: if ``limit`` cannot hold even the tags that must be reopened.
    """
    atoms = _ATOM.findall(text)
    if utf16_len(text) <= limit:
        return [text] if _visible(atoms) else []
    parts: list[str] = []
    stack: Stack = []
    i = _skip_space(atoms, 0)
    while i < len(atoms):
        reach = _reach(atoms, i, stack, limit)
        if reach == i:
            raise ValueError(f"limit {limit} cannot hold the tags open at a cut")
        cut = _best_cut(atoms, i, reach)
        end = cut
        while end > i and atoms[end - 1].isspace():
            end -= 1
        after = list(stack)
        for atom in atoms[i:cut]:
            _apply(after, atom)
        if _visible(atoms[i:end]):
            parts.append("".join(tag for _, tag in stack) + "".join(atoms[i:end]) + _closing(after))
        stack, i = after, _skip_space(atoms, cut)
    return parts


def _skip_space(atoms: list[str], i: int) -> int:
    while i < len(atoms) and atoms[i].isspace():
        i += 1
    return i
