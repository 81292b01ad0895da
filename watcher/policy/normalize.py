"""Text normalization against evasion, keeping offsets back to the original text.

Given a comment, :func:`normalize` returns lower-case text without accents, with homoglyphs
(Cyrillic or Greek look-alikes, mathematical letters, full-width forms) turned into Latin letters,
zero-width characters dropped, leetspeak undone inside words (``t4b4rn4k``), letters repeated
three times or more squeezed (``nooon``), letters spaced or dotted apart joined (``c o n n a r d``,
``c.o.n``), and a few emoji that stand for words replaced by those words (🖕, 🔪, 🐒…). Every
character of the result remembers where it came from, so evidence points into the original text.

:func:`tokens` splits normalized text into word tokens; each token also has a *key* with every
doubled letter squeezed (``connard`` → ``conard``), the form lexicons are compared in, so that
``connnnard`` and ``conard`` meet ``connard``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Characters that carry nothing visible: removed.
_INVISIBLE = {
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x200B, 0x200C, 0x200D,
    0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2061, 0x2062, 0x2063,
    0x2064, 0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0x3164, 0xFE0E, 0xFE0F, 0xFEFF,
    0xFFA0, 0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF,
}

# Look-alike letters that Unicode decomposition leaves alone.
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ս": "u", "ո": "n", "ց": "g", "զ": "q",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ѵ": "v", "μ": "u",
    # Greek capitals whose small letter looks like another Latin letter: mapped before case
    # folding ("Η" is an H, "η" an n)
    "Η": "h", "Ν": "n", "Υ": "y", "Μ": "m", "Ζ": "z",
    # Latin small capitals of "fancy text" generators (ᴄᴏɴɴᴀʀᴅ): no decomposition
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    # Latin letters without a decomposition
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŀ": "l", "ƒ": "f", "ß": "ss", "æ": "ae",
    "œ": "oe", "þ": "th", "ð": "d", "ɑ": "a", "ɩ": "i", "ʋ": "u",
    # Typographic marks folded to their plain forms
    "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "«": '"', "»": '"',
    "‹": '"', "›": '"', "„": '"', "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
}

# Emoji that stand for a word in abuse or threats. Other emoji are left as they are.
EMOJI_WORDS = {
    "🖕": "doigtdhonneur",
    "🔪": "couteau", "🗡": "couteau", "🔫": "fusil", "💣": "bombe", "🧨": "bombe",
    "⚰": "cercueil", "🪦": "cercueil",
    "🐒": "singe", "🐵": "singe", "🦍": "singe", "🦧": "singe",
    "🐷": "cochon", "🐖": "cochon", "🐽": "cochon",
    "💩": "marde", "🤡": "clown", "🍆": "aubergine", "💊": "pilule",
    "🐀": "rat", "🐁": "rat", "🐍": "serpent", "🐋": "baleine",
    "🐳": "baleine", "🫏": "ane",
    "💰": "argent", "💵": "argent", "💸": "argent", "🤑": "argent",
}

# What a censored spelling stands for, by convention: the first of these words (accents off,
# lower case) of the same length whose letters agree with the letters shown. "f***" is "fuck",
# "t*b*rn*k" "tabarnak", "f*utre" "foutre"; "c**" (con? cul?) matches none and stays censored, for
# the rules' own reading of censored words. A word shows at least two of its letters, but the
# few in CENSORED_BY_INITIAL, which everyone reads from the first letter alone.
CENSORED_WORDS = (
    "fuck", "fucking", "fuckin", "fucked", "fucker", "motherfucker", "shit", "bitch", "bitches",
    "asshole", "bastard", "cunt", "dick", "whore", "slut", "faggot", "nigger", "nigga",
    "tabarnak", "tabarnac", "tabarnack", "calisse", "caliss", "calice", "crisse", "criss",
    "ostie", "osti", "hostie", "estie", "esti", "ciboire", "sacrament", "viarge",
    "connard", "connarde", "connasse", "conne", "salope", "salaud", "putain", "pute",
    "merde", "marde", "foutre", "encule", "enculee", "batard", "batarde", "niaiseux",
    "imbecile", "cretin", "cretine", "abruti", "abrutie", "nique", "negre", "negres",
    "cul", "cave", "caves", "idiot", "idiote", "debile", "epais", "epaisse", "niaiseuse",
    "tapette", "plotte", "chienne", "dumbass", "retard", "moron",
)
CENSORED_BY_INITIAL = frozenset({"fuck", "fucking", "shit", "bitch"})

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
         "@": "a", "$": "s", "!": "i", "|": "l"}
_LEET_CANDIDATE = re.compile(r"[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*")
# The same words (maximal runs of those characters with a letter), narrowed to those that hold a
# leet character: the only ones _unleet may change, so substituting over these gives the same
# text without a call per plain word.
_LEET_WORD = re.compile(r"(?<![a-z0-9@$!|])(?=[a-z0-9@$!|]*?[0-9@$!|])(?=[a-z0-9@$!|]*?[a-z])"
                        r"[a-z0-9@$!|]+")
_LEET_CHARS = frozenset(_LEET)
_REPEAT3 = re.compile(r"([a-z])\1{2,}")
# Four or more single letters apart, each gap one separator (. - _ / ~ • ·, spaced around or not)
# or up to three spaces: "c o n n e", "c.o.n.n.e", "c / o / n / n / e", "c  o  n  n  e". A letter
# before an apostrophe is an elided word ("il y a à l'école"), not one of them.
_SPACED = re.compile(r"(?<![a-z0-9'])[a-z](?:(?: ?[.\-_/~•·] ?| {1,3})[a-z]){3,}(?![a-z0-9*#'])")
# Three single letters apart by single spaces ("c o n"): joined only as an extra token (see
# joined_tokens), since "y a à" is ordinary French.
_SPACED3 = re.compile(r"(?<![a-z0-9'])[a-z] [a-z] [a-z](?![a-z0-9*#'])")
# A censored word: letters with * or # standing for some of them ("f***", "t*b*rn*k").
_CENSORED = re.compile(r"(?<![a-z0-9*#])[a-z*#]*[*#][a-z*#]*(?![a-z0-9*#])")
# A word made of letter groups glued by dots, dashes or underscores: "con.nard", "f_u_ck".
# Anchored at the start of a run of those characters: a match starting inside a run would end
# where the run's own match would have, so only the runs' starts are tried (same matches).
_DOTTED = re.compile(r"(?<![a-z0-9*#])[a-z0-9*#]+(?:[.\-_][a-z0-9*#]+)+")
_DOTTED_HINT = re.compile(r"[a-z0-9*#][.\-_][a-z0-9*#]")  # what any _DOTTED match holds
_DOTTED_SEPARATORS = re.compile(r"[.\-_]")
TOKEN = re.compile(r"[a-z0-9*#]*[a-z0-9][a-z0-9*#]*")
_DOUBLE = re.compile(r"([a-z])\1+")


class _CharTable(dict[int, str]):
    """str.translate table filled on first sight of each character."""

    irregular: set[str]

    def __init__(self) -> None:
        super().__init__()
        self.irregular = set()

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        mapped = _map_char(char)
        self[codepoint] = mapped
        if len(mapped) != 1:
            self.irregular.add(char)
        return mapped


# Letters drawn in squares or circles as emoji (🅲🅾🅽, 🅒🅞🅝), which have no decomposition:
# the first code point of each run of 26 and the letter it stands for.
_BOXED_LETTERS = (0x1F150, 0x1F170)


def _map_char(char: str) -> str:
    codepoint = ord(char)
    if codepoint in _INVISIBLE:
        return ""
    if char in EMOJI_WORDS:
        return f" {EMOJI_WORDS[char]} "
    if char in _HOMOGLYPHS:
        return _HOMOGLYPHS[char]
    for first in _BOXED_LETTERS:
        if first <= codepoint < first + 26:
            return chr(ord("a") + codepoint - first)
    decomposed = unicodedata.normalize("NFKD", char)
    if len(decomposed) == 3 and decomposed[0] == "(" and decomposed[2] == ")" \
            and decomposed[1].isalpha():
        decomposed = decomposed[1]  # a parenthesized letter (⒞⒪⒩) is that letter
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if not base:
        return " " if unicodedata.category(char).startswith("Z") else ""
    out = "".join(_HOMOGLYPHS.get(c, c) for c in base)
    if len(out) == 1 and unicodedata.category(out).startswith(("Z", "C")) and out not in "\n\t":
        return " "
    return out


_TABLE = _CharTable()


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text, and for each of its characters the index it came from."""

    text: str
    offsets: tuple[int, ...] | range
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Given a [start, end) span in the normalized text, return it in the original text."""
        if not self.offsets or end <= start:
            return (0, 0)
        first = self.offsets[min(start, len(self.offsets) - 1)]
        last = self.offsets[min(end, len(self.offsets)) - 1]
        return (first, last + 1)

    def excerpt(self, start: int, end: int) -> str:
        a, b = self.span(start, end)
        return self.original[a:b]


def _char_pass(text: str) -> tuple[str, tuple[int, ...] | range]:
    mapped = text.translate(_TABLE)
    if text.isascii() or _TABLE.irregular.isdisjoint(text):  # every ASCII character maps to one
        return mapped, range(len(text))
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = _TABLE[ord(char)]
        chars.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(chars), tuple(offsets)


def _has_leet(text: str) -> bool:
    """Does the text hold one of _LEET's characters? (What ``not _LEET_CHARS.isdisjoint(text)``
    says, without a set look-up per character of the text.)"""
    return ("0" in text or "1" in text or "3" in text or "4" in text or "5" in text
            or "7" in text or "8" in text or "9" in text or "@" in text or "$" in text
            or "!" in text or "|" in text)


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if _LEET_CHARS.isdisjoint(word):
        return word
    letters = sum(c.isalpha() for c in word)
    if letters < 2 and not (len(word) == 2 and word[0].isalpha() and word[1] in "3@"):
        return word  # "5e", "2e": ordinals, not leetspeak; "t3" is "te", "v@" "va"
    chars = list(word)
    last = len(chars) - 1
    for index, char in enumerate(chars):
        if char in _LEET:
            if char == "@" and index == 0:
                continue  # a mention
            if char == "!" and (index == last or not chars[index + 1].isalpha()):
                continue  # punctuation
            chars[index] = _LEET[char]
    return "".join(chars)


def _rebuild(text: str, offsets: tuple[int, ...] | range, pattern: re.Pattern[str],
             replace) -> tuple[str, tuple[int, ...] | range]:  # type: ignore[no-untyped-def]
    """Apply a length-changing substitution, carrying offsets along."""
    pieces: list[str] = []
    new_offsets: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        pieces.append(text[position:start])
        new_offsets.extend(offsets[position:start])
        kept = replace(match)  # indices (relative) of the characters kept
        pieces.append("".join(text[start + i] for i in kept))
        new_offsets.extend(offsets[start + i] for i in kept)
        position = end
    if position == 0:
        return text, offsets
    pieces.append(text[position:])
    new_offsets.extend(offsets[position:])
    return "".join(pieces), tuple(new_offsets)


def _keep_first(match: re.Match[str]) -> list[int]:
    return [0]


def _keep_spaced(match: re.Match[str]) -> list[int]:
    """The letters of a spaced-out run. Where its gaps differ, the odd ones part words, and one
    space of each is kept: bare spaces among dotted gaps ("f.u.c.k y.o.u"), or the widest runs
    of spaces ("f u c k   y o u")."""
    run = match.group(0)
    gaps = [(m.start(), m.group(0)) for m in re.finditer(r"[^a-z]+", run)]
    kept = [i for i, c in enumerate(run) if c.isalpha()]
    bare = [(start, gap) for start, gap in gaps if gap.strip() == ""]
    if bare and len(bare) < len(gaps):
        kept += [start for start, _ in bare]
    else:
        widest = max(len(g) for _, g in gaps)
        if widest >= 2 and widest > min(len(g) for _, g in gaps):
            kept += [start for start, gap in gaps if len(gap) == widest]
    return sorted(kept)


def _uncensor(match: re.Match[str]) -> str:
    word = match.group(0)
    shown = sum(c.isalpha() for c in word)
    if not shown or len(word) > 14:
        return word
    for reading in CENSORED_WORDS:
        if len(reading) == len(word) and (shown >= 2 or reading in CENSORED_BY_INITIAL) \
                and all(c in "*#" or c == r for c, r in zip(word, reading, strict=True)):
            return reading
    return word


@lru_cache(maxsize=8192)
def normalize(text: str) -> Normalized:
    """Given a comment's text, return its normalized form with offsets into the original."""
    mapped, offsets = _char_pass(text)
    if _has_leet(mapped):
        mapped = _LEET_WORD.sub(_unleet, mapped)  # same length: offsets unchanged
    if "*" in mapped or "#" in mapped:
        mapped = _CENSORED.sub(_uncensor, mapped)  # same length: offsets unchanged
    mapped, offsets = _rebuild(mapped, offsets, _REPEAT3, _keep_first)
    mapped, offsets = _rebuild(mapped, offsets, _SPACED, _keep_spaced)
    return Normalized(mapped, offsets, text)


@lru_cache(maxsize=131072)
def squeeze(word: str) -> str:
    """Given a word, return it with every run of a repeated letter reduced to one."""
    return _DOUBLE.sub(r"\1", word)


@lru_cache(maxsize=65536)
def fold(term: str) -> str:
    """Given a lexicon term, return the normalized form it is compared in (no offsets)."""
    return " ".join(squeeze(t) for t in TOKEN.findall(normalize(term).text))


class Token(NamedTuple):  # a tuple: made for every word of every comment, so made cheaply
    text: str  # normalized
    key: str  # squeezed: the form lexicons are compared in
    start: int  # in the normalized text
    end: int
    joined: bool = False  # made by joining "con.nard"-like pieces


def tokens(normalized: str) -> list[Token]:
    """Given normalized text, return its word tokens, plus joined forms of dotted words."""
    return word_tokens(normalized) + joined_tokens(normalized)


_new_token = tuple.__new__  # Token(...) without the generated __new__'s argument handling


def word_tokens(normalized: str) -> list[Token]:
    """Given normalized text, return its word tokens (no joined forms), in order."""
    return [_new_token(Token, (word, squeeze(word), *match.span(), False))
            for match in TOKEN.finditer(normalized) for word in (match.group(),)]


def joined_tokens(normalized: str) -> list[Token]:
    """Given normalized text, return the joined forms of its dotted words ("con.nard") and of
    three letters spaced apart ("c o n")."""
    result: list[Token] = []
    if " " in normalized:
        for match in _SPACED3.finditer(normalized):
            glued = match.group(0).replace(" ", "")
            result.append(Token(glued, squeeze(glued), match.start(), match.end(), joined=True))
    if ("." in normalized or "-" in normalized or "_" in normalized) \
            and _DOTTED_HINT.search(normalized) is not None:
        for match in _DOTTED.finditer(normalized):
            word = match.group(0)
            if "://" in word or word.count(".") > 6:
                continue
            glued = _DOTTED_SEPARATORS.sub("", word)
            result.append(Token(glued, squeeze(glued), match.start(), match.end(), joined=True))
    return result
