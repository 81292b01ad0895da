"""The two stateful categories: repetition within the space's recent history, and anonymity.

Pure functions over the ``history`` handed in by the caller (the pipeline passes up to 200 recent
comments of the same space within ``policy.repetition_window_hours``; ``vigie classify`` passes
the earlier lines of its stream). Fingerprints are memoized on the text, so a history seen again
costs a set intersection per item.

Anonymity signals read from ``author_meta`` (each platform gives some of them):
``has_real_name`` (False), ``has_profile`` / ``has_profile_picture`` (False),
``default_profile_image`` (True), ``anonymous`` (True), ``verified`` (True: not anonymous),
``account_age_days`` (young accounts), ``followers_count`` (0), and a ``username`` (or the author
name) that looks generated: mostly digits, or letters then a long run of digits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from watcher.policy.normalize import TOKEN, normalize, squeeze
from watcher.policy.types import HistoryItem

NEAR_DUPLICATE = 0.8  # Jaccard similarity of character 4-gram shingles
MIN_CHARS_MANY_AUTHORS = 25  # "Bravo !" from thirty parents is not a campaign
MIN_CHARS_SLOGAN = 12  # a slogan ("le DG dehors") from three accounts, two anonymous, is one
MIN_CHARS_FLOOD = 8  # one author's third copy of "HONTE AU CSS!!!" is a flood; of "lol", not
FLOOD_COPIES = 2  # earlier copies by the same author from which a copy is a flood (the third)
LONG_COPY = 80  # a copy this long of another account's comment is pasted, not a coincidence
MEDIUM_COPY = 40  # a first copy this long is worth a look when its author is anonymous
ANONYMOUS = 0.7  # an anonymity score this high is a throwaway account (a pseudonym, an anonymous post)
_WORD_AND_DIGITS = r"[a-z]{0,12}[_.\-]?\d{4,}|user\d+"
_GENERATED_HANDLE = re.compile(rf"^(?:{_WORD_AND_DIGITS}|[a-z0-9]{{16,}})$", re.I)
# A display name made of a word and a run of digits ("user4820193", "citoyen_20931") is no name
_GENERATED_NAME = re.compile(rf"^(?:{_WORD_AND_DIGITS})$")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    skeleton: str
    shingles: frozenset[int]


@lru_cache(maxsize=16384)
def fingerprint(text: str) -> Fingerprint:
    """Given a comment's text, return its skeleton (normalized words) and its shingles."""
    skeleton = " ".join(squeeze(t) for t in TOKEN.findall(normalize(text).text))
    if len(skeleton) < 5:
        return Fingerprint(skeleton, frozenset({hash(skeleton)}))
    return Fingerprint(skeleton, frozenset(hash(skeleton[i:i + 4]) for i in range(len(skeleton) - 3)))


def similar(a: Fingerprint, b: Fingerprint) -> bool:
    if a.skeleton == b.skeleton:
        return True
    la, lb = len(a.shingles), len(b.shingles)
    if not la or not lb or min(la, lb) / max(la, lb) < NEAR_DUPLICATE:
        return False
    inter = len(a.shingles & b.shingles)
    return inter / (la + lb - inter) >= NEAR_DUPLICATE


@dataclass(frozen=True, slots=True)
class Repetition:
    same_author: int  # earlier near-duplicates by the same author in the window
    other_authors: int  # distinct other authors who posted a near-duplicate
    length: int  # characters of the skeleton
    anonymous_others: int = 0  # of those other authors, the ones posting anonymously

    @property
    def own(self) -> float:
        """How much the author repeats themself, in [0, 1]."""
        if not self.same_author:
            return 0.0
        return 0.55 if self.same_author == 1 else 0.8 if self.same_author == 2 else 0.95

    @property
    def score(self) -> float:
        """How repetitive, in [0, 1]: 0 when the text is new in the window."""
        score = self.own
        if self.other_authors >= 2 and self.length >= MIN_CHARS_MANY_AUTHORS:
            score = max(score, 0.6 if self.other_authors == 2 else 0.85)
        if self.other_authors == 1 and self.length >= MEDIUM_COPY:
            # one copy of a sentence or two: alone, too little to call it repetition (0.65 × 0.6
            # stays under review), but an anonymous author's copy is queued for a person
            score = max(score, 0.6)
        if self.other_authors >= 1 and self.length >= LONG_COPY:
            score = max(score, 0.85 if self.other_authors == 1 else 0.95)
        return score

    def flood(self, ordinary: bool) -> bool:
        """Is this the third copy (or more) of the same words by one author within the window?
        Not for an ``ordinary`` text (a question asked again for want of an answer, a courtesy)
        nor one shorter than ``MIN_CHARS_FLOOD`` (a "lol")."""
        return self.same_author >= FLOOD_COPIES and not ordinary and self.length >= MIN_CHARS_FLOOD

    def campaign(self, ordinary: bool) -> float:
        """How much an anonymous author's copy looks like a campaign, in [0, 1].

        Copies among throwaway accounts are what policy 8.1 calls anonymous and repetitive: a
        sentence (``MEDIUM_COPY``) already posted by another anonymous account, a short
        sentence posted by two other accounts, one of them anonymous, or a slogan
        (``MIN_CHARS_SLOGAN``) posted by three, two of them anonymous, scores 0.85; a short
        sentence (``MIN_CHARS_MANY_AUTHORS``) already posted by one anonymous account, 0.6 (a
        review). An ``ordinary``
        text (a courtesy or a question, with nothing litigious in it) shorter than ``LONG_COPY``
        counts only its author's own repeats: parents asking the same question or thanking in
        the same words are no campaign, whatever their display names.
        """
        if ordinary and self.length < LONG_COPY:
            return self.own
        score = self.score
        if self.anonymous_others and self.length >= MIN_CHARS_MANY_AUTHORS:
            # a second throwaway account with the same sentence: worth a look (a review)
            score = max(score, 0.6)
        if self.anonymous_others and (
                self.length >= MEDIUM_COPY
                or (self.other_authors >= 2 and self.length >= MIN_CHARS_MANY_AUTHORS)
                or (self.anonymous_others >= 2 and self.other_authors >= 3
                    and self.length >= MIN_CHARS_SLOGAN)):
            score = max(score, 0.85)
        return score


def repetition(text: str, author_id: str | None, history: Sequence[HistoryItem],
               now: dt.datetime, window_hours: int) -> Repetition:
    """Count near-duplicates of ``text`` in ``history`` within the window before ``now``."""
    mine = fingerprint(text)
    if not mine.skeleton:
        return Repetition(0, 0, 0)
    since = now - dt.timedelta(hours=window_hours)
    same = 0
    others: set[str] = set()
    anonymous: set[str] = set()
    for item in history:
        if item.created_time < since or item.created_time > now:
            continue
        if not similar(mine, fingerprint(item.text)):
            continue
        if author_id is not None and item.author_id == author_id:
            same += 1
        else:
            other = item.author_id or f"anonymous-{len(others)}"
            others.add(other)
            if anonymity(item.author_meta, item.author_name)[0] >= ANONYMOUS:
                anonymous.add(other)
    return Repetition(same, len(others), len(mine.skeleton), len(anonymous))


def anonymity(meta: Mapping[str, Any], author_name: str | None = None) -> tuple[float, list[str]]:
    """Given a platform's author metadata, return an anonymity score in [0, 1] and its signals."""
    signals: list[str] = []
    if meta.get("verified") is True:
        return 0.0, []
    if meta.get("anonymous") is True:
        signals.append("anonymous")
    if meta.get("has_real_name") is False:
        signals.append("no_real_name")
    if meta.get("has_profile") is False or meta.get("has_profile_picture") is False \
            or meta.get("default_profile_image") is True:
        signals.append("no_profile")
    age = meta.get("account_age_days")
    if isinstance(age, int | float) and age < 30:
        signals.append("new_account")
    if meta.get("followers_count") == 0:
        signals.append("no_followers")
    handle = meta.get("username") or author_name
    if isinstance(handle, str) and _GENERATED_HANDLE.match(handle.strip()):
        signals.append("generated_handle")
    if meta.get("has_real_name") is not True and isinstance(author_name, str) \
            and pseudonymous_name(author_name):
        signals.append("pseudonym")
    score = min(1.0, 0.35 * len(signals)) if signals else 0.0
    if "anonymous" in signals:
        score = max(score, 0.8)
    if "pseudonym" in signals:
        score = max(score, 0.7)
    return score, signals


# A display name that is a role or a mood rather than a person's name ("Citoyen inquiet",
# "Parent tanné 418"), a stock placeholder ("Jos Bleau"), initials only ("J. T."), a doubled
# nickname ("Mélo Mélo") or a generated one ("user4820193").
_DESCRIPTOR_FIRST = frozenset({
    "citoyen", "citoyenne", "citoyens", "parent", "parents", "maman", "papa", "mere", "pere",
    "contribuable", "anonyme", "anonymous", "verite", "info", "infos", "concerned", "worried",
    "un", "une", "le", "la", "les", "ami", "amie", "voisin", "voisine", "residant", "residante",
    "electeur", "electrice", "enseignant", "enseignante", "prof", "eleve", "temoin", "justice",
    "real", "truth", "mr", "mrs", "ms", "madame", "monsieur", "anon", "libre", "patriote",
})
# Words that make a display name a pseudonym wherever they stand ("Vérité Saguenay",
# "Riverside Libre", "Mère en colère"): a claim or a mood, not a person's name.
_DESCRIPTOR_ANY = frozenset({
    "verite", "anonyme", "anonymous", "inquiet", "inquiete", "inquiets", "tanne", "tannee",
    "fache", "fachee", "ecoeure", "ecoeuree", "enrage", "enragee", "colere", "libre", "truth",
    "concerned", "citoyen", "citoyenne", "contribuable", "outre", "outree", "indigne", "indignee",
    "anon", "patriote", "patriotes",
})
_PLACEHOLDERS = frozenset({"jos bleau", "joe bleau", "john doe", "jane doe", "jean untel",
                           "madame untel", "monsieur untel", "jos blo", "john smith"})
_INITIAL = re.compile(r"^[a-z]\.?$")
_NAME_PARTS = re.compile(r"[\s_\-]+|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_DOTTED_INITIALS = re.compile(r"^(?:[a-z]\.-?){2,3}$")  # "J.B.", "J.-P."


def pseudonymous_name(name: str) -> bool:
    """Given a display name, tell whether it looks like a pseudonym rather than a person's name.

    ``Monsieur Tremblay`` is a name (a title then a surname); ``Monsieur X`` is not.
    """
    # digits glued to a word are no part of it ("anonyme123", "citoyen418")
    words = [w for w in _NAME_PARTS.split(name.strip().lower()) if w and not w.isdigit()]
    words = [w for w in (normalize(w).text.strip() for w in words) if w]
    if not words:
        return True
    joined = " ".join(words)
    if joined in _PLACEHOLDERS:
        return True
    if _GENERATED_NAME.match(name.strip().lower()):  # before normalize() reads digits as letters
        return True
    if all(_INITIAL.match(w) for w in words) or (len(words) == 1 and _DOTTED_INITIALS.match(words[0])):
        return True
    if len(words) >= 2 and len(set(words)) == 1:
        return True
    if any(w in _DESCRIPTOR_ANY for w in words[1:]):
        return True
    if words[0] in _DESCRIPTOR_FIRST:
        rest = [w for w in words[1:] if not w.isdigit()]
        titled_surname = words[0] in {"mr", "mrs", "ms", "madame", "monsieur"} and len(rest) == 1 \
            and len(rest[0]) > 2
        return not titled_surname
    return False
