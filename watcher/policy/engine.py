"""The section 8.1 classifier: rules as data and a statistical model, combined per category.

``load_policy`` reads the rule folders, the allow-list, the context word lists and the model once;
``classify(comment, context)`` is pure (no I/O, no clock): the time, the space's recent history,
the thresholds and the loaded policy all come in through ``context``.

Per category the rules give a score (noisy-or of the matched rules' weights, each weight set by
the context of the match: who is targeted, negation, quotation or counter-speech, joy, affection
for the person teased; matches so held back count once, by the heaviest, however many there
are, since denouncing a slur twice is no more a use of it than once), the model gives a
calibrated probability, and the two combine as ``1 - (1 - rules) * (1 - 0.6 * model)``:
the model alone can ask for a review, never hide. (Until the eleventh pass a very confident model,
>= 0.9, could hide on its own when the comment showed a target; by then the rules made every such
hide of the held-out set, while that path still made 4 of the 9 false hides of the corpus
cross-validation and 23 of CyberAgression's 43: docs/evaluation.md, "The eleventh pass".) The
model counts in full only when it corroborates the rules: the rules alone would send the comment
to review in a category (unsuppressed score at or above its ``review`` threshold) and the model
gives that category at least ``MODEL_CORROBORATES`` (0.7). Two independent witnesses then hide
what either alone would only queue; corpus cross-validation moved French hidden recall from 81.9%
to 85.8% with no new false hide (docs/evaluation.md). The two repetitive categories come from
the history and the author's anonymity signals (see :mod:`watcher.policy.stateful`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import operator
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from watcher.categories import BY_ID, CATEGORY_IDS
from watcher.errors import ConfigError
from watcher.policy import stateful
from watcher.policy.factors import literal_probe, required_sets
from watcher.policy.model import Model, load_model
from watcher.policy.normalize import (
    Normalized,
    Token,
    fold,
    joined_tokens,
    normalize,
    word_tokens,
)
from watcher.policy.rules import AllowList, Rule, load_rules
from watcher.policy.types import (
    CommentInput,
    Evidence,
    HistoryItem,
    Thresholds,
    Verdict,
)

RULES_VERSION = "rules-1"
MODEL_WEIGHT = 0.6  # the model alone stays well below every hide threshold
MODEL_CAP = 0.95  # the model's share never reaches certainty
MODEL_CORROBORATES = 0.7  # from here the model may confirm what the rules alone would flag
# An allow-listed idiom in these categories: the model reads the comment without its words
# (elsewhere it is silenced: without "en retard", "t'es encore en retard" reads as an insult).
IDIOM_REREAD = ("discrimination",)
SUPPRESSED_MODEL = 0.4  # the model's say when the rules saw counter-speech or negation
QUEUE_ONLY_MARGIN = 0.01  # how far under the hide threshold a queue-only rule's category stays
NEGATED = 0.15
QUOTED = 0.12
JOYFUL = 0.4
AFFECTIONATE = 0.45  # a mild insult among words of affection: a review, never a hide
WARNING = 0.45  # an advert or link inside a warning against scams: a review, never a hide
OWN_FLAGGED_COPY = 0.9  # an author's near-copy of their own comment that is flagged on its content
OWN_COPY_RULE_EVIDENCE = 0.15  # ... with a rule behind the flag (a swear word weighs 0.2), not the model alone
CONTENT_CATEGORIES = ("diffamation_irrespect", "discrimination", "illegal", "commercial_pourriel",
                      "atteinte_droits")
ORDINARY_CONTENT = 0.3  # under this, a courtesy or a question repeated by others is no campaign
CENSORED = 0.85  # a word written with * or # for some letters counts a little less
REPORTED = 0.45  # words followed by who said them ("…, c'est ce qu'il a dit à mon fils"): a review
EVIDENCE_FLOOR = 0.2
REPO_ROOT = Path(__file__).resolve().parents[2]
_SOURCE_POLICY = REPO_ROOT / "config" / "policy"
_INSTALLED_POLICY = Path(sys.prefix) / "share" / "vigie" / "policy"
# The shipped rules: the source tree's config/policy, or where a packaged install put them.
SHIPPED_POLICY_DIRS = (_SOURCE_POLICY if _SOURCE_POLICY.is_dir() else _INSTALLED_POLICY,)
CONTEXT_LISTS = ("second_person", "person", "direct", "roles", "copulas", "chaining", "exclamations", "linking", "intensifiers", "groups", "negations",
                 "reporting", "condemning", "joy", "things", "waste", "institution", "affection",
                 "scam_warning", "not_negations", "pointers", "reported_after", "not_affection",
                 "goodwill", "spreading", "denials", "sources", "stage", "not_reporting",
                 "own_contact", "own_family", "prevention", "self_said")
# Single-word sets, compared with one token's key (no phrase look-up: read on the hot path)
WORD_SETS = ("degree", "first_person", "links", "said", "said_to", "stopped", "that", "of", "private",
             "imperatives", "subjects", "determiners", "others", "wishes", "superlatives", "definite", "endearing",
             "self_between")
# "not_X" lists: a phrase of list X found inside one of them is not a cue of X ("une pas fine"
# negates nothing, "tu penses que t'es drôle?" is no affection)
_EXCLUSIONS = tuple((name, name[4:]) for name in CONTEXT_LISTS if name.startswith("not_"))
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+|\b[a-z0-9\-]+\.(?:com|net|org|ca|ly|io|co|me|biz|info|xyz|shop|link)(?:/[^\s<>\"']*)?", re.I)
_PHONE = re.compile(r"(?:\+?1[\s.\-]?)?\(?[2-9]\d{2}\)?[\s.\-]?\d{3}[\s.\-]?\d{4}")
_BREAKS = ",.;:!?"  # what ends a clause
_CLAUSE_BREAK = re.compile(f"[{re.escape(_BREAKS)}]")
# Where the next sentence starts, looking forward from a match: unlike _SENTENCE_BREAK (which
# looks back for a break), ";" goes on, and the period of a title ("frapper M. le directeur",
# "Mme. Roy", "Dr. Simard") ends no sentence
_SENTENCE_END = re.compile(r"(?<!\bm)(?<!\bmme)(?<!\bmlle)(?<!\bdr)(?<!\bme)(?<!\bst)(?<!\bste)[.!?]+(?=\s|$)")
_SENTENCE_BREAK = re.compile(r"[.;!?]")  # what ends a sentence (a comma goes on with it)
_EMAIL = re.compile(r"[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)", re.I)


@lru_cache(maxsize=131072)
def _variants(key: str) -> tuple[str, ...]:
    """Inflected forms a lexicon key also matches: plural s/x, feminine e, es."""
    if len(key) <= 3:
        return (key,)
    out = [key]
    if key.endswith("es") and len(key) > 4:
        out.append(key[:-2])
    if key[-1] in "sxe":
        out.append(key[:-1])
    return tuple(out)


_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


class PhraseIndex:
    """Word and phrase look-up over a comment's token keys."""

    def __init__(self, phrases: Iterable[tuple[str, Any]], inflect: bool = False) -> None:
        self.first: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
        self.by_letter: dict[str, list[tuple[str, Any]]] = {}
        self.inflect = inflect
        for phrase, payload in phrases:
            words = tuple(phrase.split())
            if not words:
                continue
            self.first.setdefault(words[0], []).append((words[1:], payload))
            if len(words) == 1:
                self.by_letter.setdefault(words[0][0], []).append((words[0], payload))
        # Each key a comment may hold, with the entries of its variants that are in the index, in
        # _variants order. A key whose variant v is a first word is v, v+"es", v+"s", v+"x" or
        # v+"e" (what _variants strips), so these surfaces are all the keys that can match.
        # Per surface, find reads the payloads of its one-word phrases, and per length of the
        # words after the first, a dictionary from those words to their (order, payload) pairs,
        # ``order`` being the entry's place among the surface's entries, by which matches at one
        # position are reported (as a walk through the entries would); and the keys the word after
        # it must have for any longer phrase to match (with their inflected surfaces), so that
        # most occurrences of a common first word ("de", "la") cost one set look-up.
        self.plans: dict[str, tuple[list[tuple[int, Any]], dict[int, dict[tuple[str, ...], list[tuple[int, Any]]]], frozenset[str]]] = {}
        for word in self.first:
            surfaces = (word, word + "es", word + "s", word + "x", word + "e") if inflect else (word,)
            for surface in surfaces:
                if surface in self.plans:
                    continue
                variants = _variants(surface) if inflect else (surface,)
                groups = [self.first[v] for v in variants if v in self.first]
                if not groups:
                    continue
                singles: list[tuple[int, Any]] = []
                longer: dict[int, dict[tuple[str, ...], list[tuple[int, Any]]]] = {}
                order = 0
                for entries in groups:
                    for rest, payload in entries:
                        if rest:
                            longer.setdefault(len(rest), {}).setdefault(rest, []).append((order, payload))
                        else:
                            singles.append((order, payload))
                        order += 1
                seconds = {rest[0] for by_rest in longer.values() for rest in by_rest}
                if inflect:
                    seconds |= {w + end for w in seconds for end in ("es", "s", "x", "e")}
                self.plans[surface] = (singles, longer, frozenset(seconds))

    def find(self, keys: Sequence[str]) -> list[tuple[int, int, Any]]:
        found: list[tuple[int, int, Any]] = []
        plans = self.plans
        inflect = self.inflect
        for i, key in enumerate(keys):
            plan = plans.get(key)
            if plan is None:
                continue
            singles, longer, seconds = plan
            if not longer or i + 1 >= len(keys) or keys[i + 1] not in seconds:
                found.extend([(i, i + 1, payload) for _, payload in singles])
                continue
            matches = [(order, i + 1, payload) for order, payload in singles]
            for n, by_rest in longer.items():
                following = tuple(keys[i + 1:i + 1 + n])
                if len(following) < n:
                    continue
                if inflect:
                    # what the phrase's last word may be: a variant of the comment's word
                    head = following[:-1]
                    for variant in _variants(following[-1]):
                        entries = by_rest.get(head + (variant,))
                        if entries:
                            matches.extend([(order, i + 1 + n, payload) for order, payload in entries])
                else:
                    entries = by_rest.get(following)
                    if entries:
                        matches.extend([(order, i + 1 + n, payload) for order, payload in entries])
            if len(matches) > 1:
                matches.sort(key=_FIRST)
            found.extend([(i, end, payload) for _, end, payload in matches])
        return found

    def find_any(self, keys: Sequence[str], key_set: set[str]) -> list[tuple[int, int, Any]]:
        """Like find, but returns at once when no word of the index is among ``key_set``."""
        if self.first.keys().isdisjoint(key_set):
            return []
        return self.find(keys)

    def find_censored(self, key: str) -> list[Any]:
        """Given a token with * or # standing for letters (f***, c*nnard), return its payloads."""
        if key[0] in "*#":
            return []
        pattern = re.compile(re.sub(r"[*#]", "[a-z]", key) + "$")
        return [p for word, p in self.by_letter.get(key[0], ()) if len(word) == len(key)
                and pattern.match(word)]


@dataclass(frozen=True, slots=True)
class _PatternRule:
    rule: Rule
    needs: re.Pattern[str] | None
    patterns: int  # the bits of its patterns in Policy.plans


@dataclass(frozen=True, slots=True)
class _PatternPlan:
    rule: int  # its rule's index in Policy.searches
    pattern: re.Pattern[str]
    rest: int  # the bits of the literal sets it requires beyond its most selective one


@dataclass(frozen=True)
class Policy:
    """Everything the classifier needs, loaded once: rules, allow-list, context words, model."""

    rules: tuple[Rule, ...]
    version: str = RULES_VERSION
    allow: AllowList = field(default_factory=AllowList)
    model: Model | None = None
    repetition_window_hours: int = 72
    lexicon: PhraseIndex = field(default_factory=lambda: PhraseIndex(()), repr=False)
    patterns: tuple[Rule, ...] = ()
    cues: PhraseIndex = field(default_factory=lambda: PhraseIndex(()), repr=False)
    # context.toml's single-word sets (WORD_SETS), each a set of token keys
    words: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: dict.fromkeys(WORD_SETS, frozenset()), repr=False)
    allow_terms: PhraseIndex = field(default_factory=lambda: PhraseIndex(()), repr=False)
    sources: tuple[str, ...] = ()
    # Per pattern rule: a probe for its ``needs`` (any of them in the lower-cased text) and its
    # patterns' bits; per pattern (bit g stands for plans[g], a rule's patterns in a row, in the
    # rules' order): its rule and the literal sets it requires (see
    # watcher.policy.factors.required_sets). Derived from ``patterns``, so never out of step.
    searches: tuple[_PatternRule, ...] = field(default=(), init=False, repr=False, compare=False)
    plans: tuple[_PatternPlan, ...] = field(default=(), init=False, repr=False, compare=False)
    # Which patterns a comment's token keys wake (the patterns of the rules they wake). A rule
    # without triggers is always tried; one with triggers only when a token key is one of them.
    trigger_bits: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    untriggered_bits: int = field(default=0, init=False, repr=False, compare=False)

    # Every literal of the patterns' required sets, found in one pass over a comment
    # (Aho-Corasick; each literal's value is its index in ``literal_bits``). A literal's bits:
    # bit g (g < len(plans)) when it belongs to the most selective set of pattern g, so a pattern
    # whose best set is not in the text sleeps; then one bit per distinct set holding it, which a
    # pattern with more sets checks (its ``rest``) before it is searched. Patterns that require
    # nothing, or whose rule runs on the raw text, are never put to sleep (``open_patterns``;
    # the latter check all their sets, against the raw text).
    literals: Any = field(default=None, init=False, repr=False, compare=False)
    literal_bits: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)
    open_patterns: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        required = [[required_sets(pattern) for pattern in rule.patterns] for rule in self.patterns]
        count = sum(map(len, required))
        distinct = {frozenset(strings) for per_rule in required for sets in per_rule for strings in sets}
        set_bit = {strings: 1 << (count + n) for n, strings in
                   enumerate(sorted(distinct, key=lambda strings: (len(strings), sorted(strings))))}
        bits_of: dict[str, int] = {}  # each literal: its bits
        open_patterns = 0
        searches = []
        plans = []
        for i, rule in enumerate(self.patterns):
            first = len(plans)
            for pattern, sets in zip(rule.patterns, required[i], strict=True):
                g = 1 << len(plans)
                masks = [set_bit[frozenset(strings)] for strings in sets]
                for strings, bit in zip(sets, masks, strict=True):
                    for literal in strings:
                        bits_of[literal] = bits_of.get(literal, 0) | bit
                if sets and rule.on != "raw":
                    for literal in sets[0]:  # the most selective
                        bits_of[literal] |= g
                    masks = masks[1:]
                else:
                    open_patterns |= g
                plans.append(_PatternPlan(i, pattern, functools.reduce(operator.or_, masks, 0)))
            searches.append(_PatternRule(rule, literal_probe(rule.needs) if rule.needs else None,
                                         (1 << len(plans)) - (1 << first)))
        automaton = ahocorasick.Automaton()
        for index, literal in enumerate(bits_of):
            automaton.add_word(literal, index)
        automaton.make_automaton()
        object.__setattr__(self, "searches", tuple(searches))
        object.__setattr__(self, "plans", tuple(plans))
        object.__setattr__(self, "literals", automaton if len(automaton) else None)
        object.__setattr__(self, "literal_bits", tuple(bits_of.values()))
        object.__setattr__(self, "open_patterns", open_patterns)
        bits: dict[str, int] = {}
        untriggered = 0
        for search in searches:
            if not search.rule.triggers:
                untriggered |= search.patterns
            for trigger in search.rule.triggers:
                bits[trigger] = bits.get(trigger, 0) | search.patterns
        object.__setattr__(self, "trigger_bits", bits)
        object.__setattr__(self, "untriggered_bits", untriggered)


@dataclass(frozen=True)
class Context:
    now: dt.datetime
    policy: Policy
    thresholds: Thresholds
    history: Sequence[HistoryItem] = field(default_factory=tuple)
    language: str = "fr"  # not used for scoring; evidence carries both languages


def _read_context(dirs: Sequence[Path]) -> dict[str, set[str]]:
    """The context lists and the word sets of every folder's context.toml, merged."""
    lists: dict[str, set[str]] = {name: set() for name in (*CONTEXT_LISTS, *WORD_SETS)}
    for folder in dirs:
        path = Path(folder) / "context.toml"
        if not path.exists():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{path}: cannot be read as TOML: {error}") from None
        unknown = sorted(set(data) - set(lists))
        if unknown:
            raise ConfigError(f"{path}: unknown list(s) {', '.join(unknown)}")
        for name, words in data.items():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise ConfigError(f"{path}: {name} must be a list of strings")
            folded = {w: fold(w) for w in words}
            if name in WORD_SETS:
                phrases = [w for w, f in folded.items() if " " in f]
                if phrases:
                    raise ConfigError(f"{path}: {name} holds single words, not {phrases[0]!r}")
            lists[name].update(f for f in folded.values() if f)
    return lists


def load_policy(extra_dirs: Sequence[Path] = (), model_path: Path | None = None,
                repetition_window_hours: int = 72, with_model: bool = True) -> Policy:
    """Given a site's extra policy folders and model, return the loaded Policy.

    Raise ConfigError when a folder, a rule file or the model cannot be read or is invalid.
    """
    dirs = [*SHIPPED_POLICY_DIRS, *(Path(d) for d in extra_dirs)]
    ruleset = load_rules(dirs)
    model = load_model(model_path) if with_model else None
    lexicon = PhraseIndex(((term, rule) for rule in ruleset.rules if rule.kind == "lexicon"
                           for term in rule.terms), inflect=True)
    context_lists = _read_context(dirs)
    # "TES" in capitals is a special-education technician (see _cue_keys): a staff role
    cues = PhraseIndex([*((w, name) for name in CONTEXT_LISTS for w in context_lists[name]),
                        *((w, "person") for w in context_lists["second_person"]),
                        (_TES_ACRONYM, "roles")])
    digest = hashlib.sha256()
    for source in ruleset.sources + [str(Path(d) / "context.toml") for d in dirs]:
        path = Path(source)
        if path.exists():
            digest.update(path.name.encode() + path.read_bytes())
    version = f"{RULES_VERSION}.{digest.hexdigest()[:8]}+{model.version if model else 'nomodel'}"
    return Policy(
        rules=tuple(ruleset.rules),
        version=version,
        allow=ruleset.allow,
        model=model,
        repetition_window_hours=repetition_window_hours,
        lexicon=lexicon,
        patterns=tuple(r for r in ruleset.rules if r.kind == "pattern"),
        cues=cues,
        words={name: frozenset(context_lists[name]) for name in WORD_SETS},
        allow_terms=PhraseIndex((t, True) for t in ruleset.allow.terms),
        sources=tuple(ruleset.sources),
    )


@dataclass(slots=True)
class Hit:
    rule: Rule
    start: int  # in normalized text (or raw text for on="raw")
    end: int
    first: int  # token indices [first, last)
    last: int
    censored: bool = False
    weight: float = 0.0
    note: str = ""
    targeted: bool = False
    suppressed: bool = False


_KEY = operator.itemgetter(1)  # Token.key
_START = operator.itemgetter(2)  # Token.start


_TES_ACRONYM = "tes.acronym"


def _cue_keys(norm: Normalized, seq: list[Token], keys: list[str], key_set: set[str]) -> list[str]:
    """The keys context cues are found in: the tokens' keys, but for "TES" written in capitals
    in a comment that is not shouted, the acronym of a special-education technician
    (technicien·ne en éducation spécialisée), not "t'es" (you are)."""
    if "tes" not in key_set or "TES" not in norm.original:
        return keys
    letters = [c for c in norm.original if c.isalpha()]
    if sum(c.isupper() for c in letters) > 0.6 * len(letters):
        return keys  # all capitals: "TES" may be "t'es" shouted
    return [(_TES_ACRONYM if key == "tes" and norm.excerpt(token.start, token.end) == "TES"
             else key) for key, token in zip(keys, seq, strict=True)]


class _Scan:
    """One comment's tokens and context cues, computed once."""

    def __init__(self, norm: Normalized, policy: Policy) -> None:
        self.norm = norm
        self.seq: list[Token] = word_tokens(norm.text)
        self.joined: list[Token] = joined_tokens(norm.text)
        self.keys: list[str] = list(map(_KEY, self.seq))
        self.key_set = set(self.keys)
        self.words = policy.words
        if self.joined:
            self.key_set.update(map(_KEY, self.joined))
        self.starts: list[int] = list(map(_START, self.seq))
        self.cues: dict[str, list[tuple[int, int]]] = {}
        for a, b, name in policy.cues.find(_cue_keys(norm, self.seq, self.keys, self.key_set)):
            self.cues.setdefault(name, []).append((a, b))
        for spans in self.cues.values():
            spans.sort()
        for exclusion, name in _EXCLUSIONS:
            if exclusion in self.cues and name in self.cues:
                outer = self.cues[exclusion]
                kept = [(a, b) for a, b in self.cues[name] if not any(c <= a and b <= d for c, d in outer)]
                if kept:
                    self.cues[name] = kept
                else:
                    del self.cues[name]
        self.cue_starts: dict[str, list[int]] = {}  # filled when first needed
        self.quotes = [m.start() for m in re.finditer(r'"', norm.text)] if '"' in norm.text else []
        self.single_quoted: list[tuple[int, int]] | None = None  # found when first needed
        self.allowed_spans: list[tuple[int, int]] | None = None

    def token_at(self, position: int) -> int:
        return max(0, bisect.bisect_right(self.starts, position) - 1)

    def token_after(self, position: int) -> int:
        return bisect.bisect_left(self.starts, position)

    def sentence_end(self, end: int) -> int:
        """The first token past the sentence holding the character ``end`` (a match's end): a
        person or a group named in the next sentence is not who the match aims at ("Cette
        imprimante, quelqu'un devrait la brûler. Trois fois que ma fille…")."""
        stop = _SENTENCE_END.search(self.norm.text, end)
        return self.token_after(stop.end()) if stop else len(self.keys)

    def _near(self, name: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """The cues of a list starting in [lo - 8, hi): phrases are short, so enough to test."""
        spans = self.cues.get(name)
        if not spans:
            return []
        starts = self.cue_starts.get(name)
        if starts is None:
            starts = self.cue_starts[name] = [a for a, _ in spans]
        return spans[bisect.bisect_left(starts, lo - 8):bisect.bisect_left(starts, hi)]

    def cue_in(self, name: str, lo: int, hi: int) -> bool:
        return any(a < hi and b > lo for a, b in self._near(name, lo, hi))

    def cue_in_clause(self, name: str, lo: int, hi: int, start: int,
                      breaks: re.Pattern[str] = _CLAUSE_BREAK) -> bool:
        """A cue among tokens [lo, hi) with no clause break (, . ; : ! ?, or ``breaks``) between
        it and the character ``start``: "t'as pas d'enfant, pauvre débile" does not negate the
        insult."""
        for a, b in self._near(name, lo, hi):
            if a < hi and b > lo:
                end = self.seq[min(b, len(self.seq)) - 1].end
                if not breaks.search(self.norm.text, end, max(end, start)):
                    return True
        return False

    def clause_start(self, start: int) -> int:
        """The first token of the clause holding the character ``start``."""
        opening = max(self.norm.text.rfind(c, 0, start) for c in _BREAKS)
        return self.token_after(opening + 1) if opening >= 0 else 0

    def clause_opening(self, first: int, start: int) -> int:
        """The first token of the clause holding token ``first`` (which starts at character
        ``start``) past its linking words ("…, pis moi je vais": "moi"), at most ``first``."""
        index = self.clause_start(start)
        links = self.words["links"]
        while index < first and self.keys[index] in links:
            index += 1
        return index

    def own_clause(self, first: int, start: int) -> bool:
        """Does the clause holding token ``first`` (which starts at character ``start``) open with
        the writer as its subject ("…, je débarque", "…, pis moi je vais")?"""
        index = self.clause_opening(first, start)
        return index <= first and self.keys[index] in self.words["first_person"]

    def has_subject(self, first: int, start: int) -> bool:
        """Does a subject come before token ``first`` (which starts at character ``start``) in its
        clause: a subject pronoun right before it, or a determiner one or two words before ("mon
        chien mange…", "mon petit chien mange…")? An imperative has none ("mange de la marde")."""
        begin = self.clause_start(start)
        keys, words = self.keys, self.words
        return ((first - 1 >= begin and keys[first - 1] in words["subjects"])
                or (first - 2 >= begin and keys[first - 2] in words["determiners"])
                or (first - 3 >= begin and keys[first - 3] in words["determiners"]
                    and keys[first - 2] not in words["subjects"]))

    def chains(self, first: int, start: int) -> bool:
        """Does a chaining cue ("pis des", "et un") end at token ``first`` and continue what its
        clause said of someone before ("sont des irresponsables pis des crétins", "la direction =
        des voleurs et des menteurs"), rather than join a list of things ("l'Holocauste et des
        nazis")?"""
        # an enumeration goes on past its commas: "est un malade, un danger public, pis un crétin"
        return self.cue_ending_in("chaining", first, first) and any(
            self.cue_in_clause(name, first - 10, first - 2, start, breaks=_SENTENCE_BREAK)
            for name in ("copulas", "direct", "roles", "second_person"))

    def cue_starting_at(self, name: str, index: int) -> bool:
        return any(a == index for a, _ in self._near(name, index, index + 1))

    def cue_after_break(self, name: str, last: int) -> bool:
        """A cue starting within ten tokens from token ``last`` (a match's end), with a clause
        break before it: "sale immigré, c'est ce qu'un élève a crié à mon fils"."""
        end = self.seq[last - 1].end if 0 < last <= len(self.seq) else 0
        for a, _ in self._near(name, last, last + 10):
            if a >= last and _CLAUSE_BREAK.search(self.norm.text, end, self.seq[a].start):
                return True
        return False

    def own_contact(self, first: int, start: int) -> bool:
        """Does the writer give their own number or address: "mon numéro" or "texte-moi" up to
        15 tokens before token ``first`` in the same sentence, with nobody else's ("son", "sa",
        "his") between ("mon numéro si vous voulez covoiturer : 418-555-0147")?"""
        text = self.norm.text
        others = self.words["others"]
        for a, b in self._near("own_contact", first - 15, first):
            if first - 15 <= a and b <= first and not _SENTENCE_BREAK.search(text, self.seq[b - 1].end, start) \
                    and others.isdisjoint(self.keys[b:first]):
                return True
        return False

    def on_stage(self, first: int, last: int, start: int, end: int) -> bool:
        """Is the word (tokens ``first`` to ``last``, characters ``start`` to ``end``) a part
        played or a costume, a stage cue in its clause ("ma fille était un serpent dans la
        pièce", "déguisée en cochon"), not past a comma ("un clown, il devrait jouer dans le
        spectacle")?"""
        if self.cue_in_clause("stage", first - 4, first, start):
            return True
        text = self.norm.text
        return any(a >= last and not _CLAUSE_BREAK.search(text, end, self.seq[a].start)
                   for a, _ in self._near("stage", last, last + 6))

    def own_family(self, first: int, last: int, start: int) -> bool:
        """Is the word at token ``first`` said of the writer's own child, the subject of its
        clause ("mon gars est un vrai pissou", "ma fille est une vraie tête de cochon"), with no
        one else named between them ("mon gars dit que le prof est un cave")?"""
        # the child opens the clause: not "l'enseignante de ma fille est une …"
        index = self.clause_opening(first, start)
        spans = [b for a, b in self._near("own_family", first - 6, first + 1) if a == index]
        if not spans:
            return False
        after = spans[0]
        if after > first:
            return True  # the word is in the family's own words ("ma gang de petits…")
        if last < len(self.keys) and self.keys[last] in self.words["of"] \
                and not (last + 1 < len(self.keys) and self.keys[last + 1].isdigit()):
            # someone else's: "ma gang de petits cochons de voisins" (not an age: "de 15 ans")
            return False
        # the insult in the child's own noun phrase ("ma gang de petits cochons"), or said of
        # them by a copula ("mon gars est un vrai pissou")
        if all(self.keys[k] in self.words["endearing"] for k in range(after, first)):
            return True
        return self.cue_ending_in("copulas", first - 1, first) and not any(
            self.cue_in(name, after, first)
            for name in ("roles", "person", "second_person", "direct", "groups"))

    def said_of_self(self, first: int, last: int, start: int) -> bool:
        """Is the word at tokens ``first`` to ``last`` (starting at character ``start``) the
        writer's name for themself: their clause opens with "je suis", "j'ai l'air", "je me sens"
        and names no one else before the word ("j'ai l'air d'un vrai cave avec mon habit"), or
        "que je suis" follows it ("maudite tête de linotte que je suis")? Only articles and
        words that sharpen may stand between: "je suis tanné de ce vrai cave" aims elsewhere."""
        for a, b in self._near("self_said", last, last + 1):
            if a == last and (b >= len(self.seq) or _CLAUSE_BREAK.search(
                    self.norm.text, self.seq[b - 1].end, self.seq[b].start)):
                return True  # "… que je suis," closes the clause; "câlisse qu'on est fiers" goes on
        stop = _CLAUSE_BREAK.search(self.norm.text, start)
        stop_at = stop.start() if stop else len(self.norm.text)
        if any(a >= last and self.seq[a].start < stop_at
               for a, _ in self._near("second_person", last, last + 8)):
            return False  # "je suis un vrai cave pis toi aussi": someone else too
        index = self.clause_opening(first, start)
        ends = [b for a, b in self._near("self_said", index, index + 1) if a == index and b <= first]
        if not ends:
            return False
        between = self.words["self_between"]
        return all(self.keys[k] in between for k in range(max(ends), first))

    def thing_predicated(self, first: int) -> bool:
        """Is every thing named in the four tokens before token ``first`` itself said of a person
        by a copula ("le directeur est un serpent et un hypocrite", "the teacher is a wolf and a
        liar"): a metaphor, so the word after it is not said of a thing either?"""
        spans = [(a, b) for a, b in self._near("things", first - 4, first - 1) if a < first - 1 and b > first - 4]
        return bool(spans) and all(
            self.cue_ending_in("copulas", a - 1, a)
            and any(self.cue_in_clause(name, a - 12, a - 1, self.seq[a].start)
                    for name in ("roles", "person", "second_person", "direct"))
            for a, _ in spans)

    def thing_subject(self, first: int, start: int) -> bool:
        """Is the word at token ``first`` said of a thing named earlier in its clause, with no
        person between them? "Ce règlement sur le cellulaire est stupide" judges a rule, not
        someone; "le règlement de la directrice est stupide" is left to the other cues."""
        ends = [b for a, b in self._near("things", first - 8, first - 1)
                if first - 8 <= a and b <= first]
        if not ends or not self.cue_in_clause("things", first - 8, first - 1, start):
            return False
        after = max(ends)
        if any(self.cue_in(name, first - 12, first) for name in ("roles", "groups")) \
                or self.cue_in("direct", after, first):
            # a person named before the thing is the subject ("les éducatrices du service de
            # garde sont des …"), or after it
            return False
        return not any(after <= a < first for a, _ in self._near("second_person", after, first))

    def relays_claim(self, first: int) -> bool:
        """Does a reporting verb introduce, in the 8 words before ``first``, a clause with "que"
        about a staff member ("il m'a dit que le prof est…"), rather than name an insult ("traité
        de", "le mot") or report one said to someone ("un gars lui a dit qu'il était…")?"""
        keys = self.keys
        that, said, said_to, stopped = (self.words[name] for name in ("that", "said", "said_to", "stopped"))
        return any(b < first and keys[b] in that and keys[b - 1] in said
                   and said_to.isdisjoint(keys[max(0, a - 1):b])
                   and (a == 0 or keys[a - 1] not in stopped) and self.cue_in("roles", b + 1, first)
                   for a, b in self._near("reporting", first - 8, first) if b > first - 8)

    def cue_ending_in(self, name: str, lo: int, hi: int) -> bool:
        return any(lo <= b <= hi for _, b in self._near(name, lo, hi + 1))

    def ends_clause(self, end: int) -> bool:
        after = self.norm.text[end:].lstrip()
        return not after or after[0] in ",.!?;:"

    def vocative(self, start: int, end: int) -> bool:
        """Is the word set apart by punctuation, as when calling someone a name?"""
        text = self.norm.text
        before = text[:start].rstrip()
        after = text[end:].lstrip()
        return (not before or before[-1] in ",.!?:;-") and (not after or after[0] in ",.!?;")

    def quoted(self, start: int) -> int:
        """Where the quotation holding position ``start`` opens, or -1 when it is not quoted."""
        before = bisect.bisect_left(self.quotes, start)
        if before % 2 == 1 and before < len(self.quotes):
            return self.quotes[before - 1]
        if self.single_quoted is None:
            # 'word' in single quotes: an opening quote that no letter precedes (not the elision
            # of "l'école"), a closing one that no letter follows, a few words apart. Most French
            # comments hold an apostrophe, few a quotable match: looked for only then.
            text = self.norm.text
            self.single_quoted = [m.span() for m in _SINGLE_QUOTED.finditer(text)] \
                if "'" in text else []
        return next((a for a, b in self.single_quoted if a < start < b), -1)


_SINGLE_QUOTED = re.compile(r"(?<![a-z0-9])'[a-z0-9*#][^'\n]{0,40}?'(?![a-z0-9])")
MAX_HITS_PER_RULE = 3  # enough to explain; keeps a 100 kB comment linear


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _digits(raw: str) -> int:
    """How many characters of ``raw`` are digits (str.isdigit), counted without a call each."""
    ascii_part = raw.encode("ascii", "ignore")
    count = len(ascii_part) - len(ascii_part.translate(None, b"0123456789"))
    if len(ascii_part) != len(raw):  # a few other characters may be digits too: ², ٣
        count += sum(map(str.isdigit, _NON_ASCII.findall(raw)))
    return count


def _literals_in(policy: Policy, text: str) -> int:
    """The bits of the pattern literals that occur in ``text`` (see Policy.literals), or'ed."""
    if policy.literals is None:
        return 0
    bits = policy.literal_bits
    return functools.reduce(operator.or_, [bits[i] for i in set(map(_SECOND, policy.literals.iter(text)))], 0)


def _find_hits(scan: _Scan, policy: Policy, raw: str) -> list[Hit]:
    hits: list[Hit] = []
    seen: set[tuple[str, int]] = set()
    per_rule: dict[str, int] = {}
    for first, last, rule in policy.lexicon.find(scan.keys):
        if (rule.id, first) in seen or per_rule.get(rule.id, 0) >= MAX_HITS_PER_RULE:
            continue
        seen.add((rule.id, first))
        per_rule[rule.id] = per_rule.get(rule.id, 0) + 1
        hits.append(Hit(rule, scan.seq[first].start, scan.seq[last - 1].end, first, last))
    for token in scan.joined[:200]:
        for variant in _variants(token.key):
            for _, _, rule in policy.lexicon.find([variant]):
                index = scan.token_at(token.start)
                if (rule.id, index) not in seen:
                    seen.add((rule.id, index))
                    hits.append(Hit(rule, token.start, token.end, index, index + 1))
    censored = 0
    text = scan.norm.text
    for index, token in enumerate(scan.seq) if "*" in text or "#" in text else ():
        if censored < 20 and ("*" in token.key or "#" in token.key) and any(c.isalpha() for c in token.key):
            censored += 1
            candidates = policy.lexicon.find_censored(token.text) or policy.lexicon.find_censored(token.key)
            if candidates:
                rule = min(candidates, key=lambda r: r.weight)  # ambiguous: the mildest reading
                if (rule.id, index) not in seen:
                    seen.add((rule.id, index))
                    hits.append(Hit(rule, token.start, token.end, index, index + 1, censored=True))
    digits = -1
    lowered = ""
    present_raw = -1
    awake = policy.untriggered_bits  # the patterns to try, as bits of policy.plans
    bits = policy.trigger_bits
    for key in scan.key_set:
        awake |= bits.get(key, 0)
    text = scan.norm.text
    # the bits of the literals in the text: patterns whose most selective set is absent sleep
    present = _literals_in(policy, text) if awake & ~policy.open_patterns else 0
    awake &= present | policy.open_patterns
    plans = policy.plans
    searches = policy.searches
    checked = -1  # the last rule whose min_digits and needs held
    while awake:
        lowest = awake & -awake
        awake ^= lowest
        plan = plans[lowest.bit_length() - 1]
        search = searches[plan.rule]
        rule = search.rule
        if plan.rule != checked:
            if rule.min_digits:
                if digits < 0:
                    digits = _digits(raw)
                if digits < rule.min_digits:
                    awake &= ~search.patterns
                    continue
            if search.needs is not None:
                if not lowered:
                    lowered = raw.lower()
                if search.needs.search(lowered) is None:
                    awake &= ~search.patterns
                    continue
            checked = plan.rule
        if rule.on == "raw":
            if plan.rest:
                if present_raw < 0:
                    present_raw = _literals_in(policy, raw)
                if present_raw & plan.rest != plan.rest:
                    continue
            match = plan.pattern.search(raw)
            if match is None:
                continue
            hits.append(Hit(rule, match.start(), match.end(), -1, -1))
        else:
            if plan.rest and present & plan.rest != plan.rest:
                continue  # a literal set every match would hold is not in the text: no match
            match = plan.pattern.search(text)
            if match is None:
                continue
            first = scan.token_after(match.start())
            last = max(first + 1, scan.token_after(match.end()))
            hits.append(Hit(rule, match.start(), match.end(), first, last))
        awake &= ~search.patterns  # one hit per rule
    return hits


def _allowed(hit: Hit, scan: _Scan, policy: Policy, raw: str) -> bool:
    allow = policy.allow
    if hit.rule.check == "url":
        urls = _URL.findall(raw)
        if urls and allow.domains:
            def allowed_url(url: str) -> bool:
                host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).split("/")[0]
                return any(host == d or host.endswith("." + d) for d in allow.domains)
            return all(allowed_url(u) for u in urls)
        return False
    if hit.rule.check == "phone":
        if hit.rule.on == "raw":
            excerpt = raw[hit.start:hit.end]
        else:
            start, end = scan.norm.span(hit.start, hit.end)
            excerpt = raw[start:end]
        numbers = [re.sub(r"\D", "", m) for m in _PHONE.findall(excerpt)]
        numbers = [d[1:] if len(d) == 11 and d.startswith("1") else d for d in numbers]
        return bool(numbers) and all(d in allow.phones for d in numbers)
    if hit.rule.on == "raw":
        excerpt = raw[hit.start:hit.end]
        if hit.rule.check == "email":
            match = _EMAIL.search(excerpt)
            if match:
                address = match.group(0).lower()
                domain = match.group(1).lower()
                return address in allow.emails or any(
                    domain == d or domain.endswith("." + d) for d in allow.domains)
        return False
    if scan.allowed_spans is None:
        scan.allowed_spans = [(a, b) for a, b, _ in policy.allow_terms.find_any(scan.keys, scan.key_set)]
    return any(a <= hit.first and hit.last <= b for a, b in scan.allowed_spans)


def _set_aside(hit: Hit, weight: float, factor: float, note: str) -> float:
    """Set a match aside (quoted, negated, the writer's own contact details, a statement): it
    weighs ``factor`` of its weight and counts once among held-back matches."""
    hit.suppressed = True
    hit.note = note
    return weight * factor


def _review_at_most(hit: Hit, weight: float, cap: float, note: str) -> float:
    """Hold a match back to a review at most (affection, a scam warning, reported words): it
    counts once among held-back matches and the model may not corroborate it into a hide."""
    hit.suppressed = True
    hit.note = note
    return min(weight, cap)


def _censored_span(scan: _Scan, hit: Hit) -> bool:
    """Whether the hit's words were written with * or # standing for letters."""
    start, end = scan.norm.span(hit.start, hit.end)
    written = scan.norm.original[start:end]
    return "*" in written or "#" in written


def _weigh(hit: Hit, scan: _Scan, raw: str) -> None:
    """Set a hit's weight from its context: target, negation, quotation, joy."""
    rule = hit.rule
    first, last = hit.first, hit.last
    words = scan.words
    raw_rule = first < 0
    if raw_rule:
        first = last = scan.token_at(scan.norm.text.find(raw[hit.start:hit.end].lower()[:3]))
    staged = "stage" in scan.cues and scan.on_stage(first, last, hit.start, hit.end)
    literal = (scan.cue_in("things", first - 4, first - 1) and not scan.thing_predicated(first)) \
        or scan.cue_in("waste", first - 6, last + 6) or staged \
        or ("things" in scan.cues and scan.thing_subject(first, hit.start))
    structural = (scan.cue_ending_in("direct", first - 3, first)
                  or ((scan.cue_ending_in("copulas", first, first) or scan.chains(first, hit.start))
                      and not literal)
                  # "sale chien galeux": a noun may stand between; "vieille et pourrie" is two
                  # words; a part played is no one ("he played the big bad pig in the play")
                  or (scan.cue_ending_in("intensifiers", first, first) and not staged)
                  or (scan.cue_ending_in("intensifiers", first - 1, first - 1)
                      and scan.keys[first - 1] not in words["links"] and not staged)
                  or scan.cue_in("roles", first - 1, last + 1)
                  or (scan.cue_ending_in("linking", first - 1, first)
                      and not literal
                      and (scan.cue_in("roles", first - 5, first - 1)
                           or scan.cue_in("person", first - 4, first - 1)))
                  or (first > 1 and scan.keys[first - 1] in words["degree"]
                      and scan.cue_ending_in("linking", first - 2, first - 1)
                      and not literal
                      and (scan.cue_in("roles", first - 6, first - 2)
                           or scan.cue_in("person", first - 5, first - 2)))
                  # a superlative said of a staff member or someone named earlier in the
                  # clause ("est la prof la plus incompétente et la plus conne"); "la décision la
                  # plus stupide" judges a thing
                  or (first > 1 and scan.keys[first - 1] in words["superlatives"]
                      and scan.keys[first - 2] in words["definite"]
                      and not literal
                      and (scan.cue_in_clause("roles", first - 8, first - 2, hit.start)
                           or scan.cue_in_clause("person", first - 8, first - 2, hit.start)))
                  # a second adjective after a first one said of someone: "le prof est vieux et
                  # pourri" (and "l'école est vieille et pourrie" aims at no one)
                  or (first > 2 and scan.keys[first - 1] in words["links"]
                      and scan.cue_ending_in("linking", first - 3, first - 2)
                      and not literal
                      and (scan.cue_in("roles", first - 7, first - 2)
                           or scan.cue_in("person", first - 6, first - 2)))
                  or (scan.cue_ending_in("exclamations", first, first)
                      and (scan.ends_clause(hit.end) or scan.cue_starting_at("pointers", last)))
                  or (last + 1 < len(scan.keys) and scan.keys[last] in words["of"]
                      and scan.cue_starting_at("roles", last + 1))
                  or (scan.vocative(hit.start, hit.end) and scan.cue_in("person", 0, len(scan.keys))))
    cut = scan.sentence_end(hit.end)
    near = structural or scan.cue_in("person", first - 5, min(last + 4, cut)) \
        or scan.cue_in("roles", first - 4, min(last + 3, cut))
    group = scan.cue_in("groups", first - 5, min(last + 5, cut))
    if rule.target == "near" and rule.category == "atteinte_droits" \
            and scan.cue_in("institution", first - 12, last + 8) \
            and words["private"].isdisjoint(scan.keys[max(0, first - 12):last + 8]):
        near = structural = group = False  # the school's or a service's own contact details
    if rule.target == "person":
        hit.targeted = structural
    elif rule.target == "near":
        hit.targeted = near or group
    elif rule.target == "group":
        hit.targeted = group
    else:
        hit.targeted = True
    weight = rule.weight if hit.targeted else rule.weight_untargeted
    if literal and not hit.targeted and rule.target in ("person", "near") \
            and not (first > 0 and scan.keys[first - 1] in words["of"]):
        # said of a thing just named ("une décision idiote", "des vaches, des cochons et une
        # truie"): half the little an untargeted word weighs, so that several such words do not
        # add up to a review. Not a name given as its author ("une décision de cave": a cave's)
        weight *= 0.5
    if hit.censored or (not raw_rule and ("*" in raw or "#" in raw) and _censored_span(scan, hit)):
        # the author softened the word ("f***", read as the word normalize() gives it): milder
        weight *= CENSORED
    direct = scan.cue_ending_in("direct", first - 2, first)
    if rule.quotable and not raw_rule:
        # a word in quotes is mentioned, not used, unless said to someone outside the quotation
        # ("t'es un « cave »", but not "il a écrit « t'es une conne »")
        opening = scan.quoted(hit.start)
        quoted = opening >= 0 and not (
            (direct or scan.cue_ending_in("copulas", first, first)
             or scan.cue_ending_in("chaining", first, first))
            and first > 0 and scan.starts[first - 1] < opening)
        condemned = scan.cue_in("condemning", last, last + 8)
        reported = condemned or scan.cue_in("reporting", first - 8, first)
        if quoted or (reported and not direct):
            if not quoted and not condemned and (
                    # an insult relayed as a fact about a staff member ("mon gars m'a dit que le
                    # directeur est un chien sale"): spread, neither denounced nor quoted
                    (hit.targeted and rule.target == "person" and scan.relays_claim(first))
                    # the writer's own clause after another's reporting word ("si l'école
                    # appelle encore la DPJ, je débarque avec ma carabine")
                    or (scan.own_clause(first, hit.start)
                        and not scan.cue_in_clause("reporting", first - 8, first, hit.start))):
                weight = _review_at_most(hit, weight, REPORTED, "reported")  # a person looks
            else:
                weight = _set_aside(hit, weight, QUOTED, "quoted")
    if rule.quotable and not raw_rule and not hit.suppressed and "reported_after" in scan.cues \
            and scan.cue_after_break("reported_after", last):
        # a parent reporting what their child was told, quoted without quotation marks: a person
        # looks (a troll may dress an insult so), but it is not hidden
        weight = _review_at_most(hit, weight, REPORTED, "reported")
    if rule.negatable and not hit.suppressed and (
            scan.cue_in_clause("negations", first - 4, first, hit.start)
            or scan.cue_in_clause("denials", first - 10, first, hit.start)):
        weight = _set_aside(hit, weight, NEGATED, "negated")
    if rule.check in ("phone", "email") and not hit.suppressed and "own_contact" in scan.cues \
            and scan.own_contact(first, hit.start):
        # the writer's own number or address, given to be reached: nobody's privacy is at stake
        weight = _set_aside(hit, weight, NEGATED, "own")
    if rule.attributable and not hit.suppressed and "sources" in scan.cues:
        # an accusation the comment attributes to the press, the police or a court: news about
        # a member of staff is for a person to weigh; hiding it would hide the news
        weight = _review_at_most(hit, weight, REPORTED, "sourced")
    if rule.kind == "lexicon" and not hit.suppressed and not raw_rule \
            and scan.keys[first] in words["imperatives"] and scan.has_subject(first, hit.start) \
            and words["wishes"].isdisjoint(scan.keys[first:last]) \
            and not scan.cue_in("roles", first - 3, first) \
            and not scan.cue_in("second_person", first - 3, first):
        # an imperative insult's verb said of a subject ("mon chien mange de la marde", "le petit
        # mange de la marde de chien au parc"): a statement, not an order given to someone. A
        # staff member or "toi" before it is taken as addressed ("le prof mange de la marde")
        weight = _set_aside(hit, weight, NEGATED, "statement")
    if rule.target in ("person", "near") and (not hit.targeted or rule.severity == "low") \
            and any(b <= first or a >= last for a, b in scan.cues.get("joy", ())[:50]):
        weight *= JOYFUL
        hit.note = hit.note or "joy"
    if rule.preventable and not hit.suppressed and "prevention" in scan.cues:
        # what a prevention message names ("si vous voyez quelqu'un vendre des vapes aux jeunes,
        # appelez la police"): a dealer may dress an offer so, so a person looks; never a hide
        weight = _review_at_most(hit, weight, WARNING, "prevention")
    if rule.category == "commercial_pourriel" and not hit.suppressed and "scam_warning" in scan.cues:
        # a warning about a scam names what it warns against ("c'est une arnaque, ne cliquez pas
        # sur le lien"); a spammer may dress an advert as one, so a person looks: a review at most
        weight = _review_at_most(hit, weight, WARNING, "warning")
    if rule.category in ("diffamation_irrespect", "atteinte_droits") and hit.targeted \
            and not hit.suppressed and "own_family" in scan.cues and scan.own_family(first, last, hit.start):
        # a parent teasing their own child ("mon gars est un vrai pissou devant les araignées"):
        # nobody else is aimed at, and a parent may be exasperated too, so a person looks
        weight = _review_at_most(hit, weight, AFFECTIONATE, "family")
    if rule.category == "diffamation_irrespect" and hit.targeted and not hit.suppressed \
            and "self_said" in scan.cues and scan.said_of_self(first, last, hit.start):
        # the writer's name for themself ("maudite tête de linotte que je suis", "j'ai l'air d'un
        # vrai cave avec mon habit de père Noël"): self-mockery aims at no one else
        weight = _set_aside(hit, weight, NEGATED, "self")
    if rule.category == "diffamation_irrespect" and rule.severity in ("low", "medium") \
            and not hit.suppressed and "affection" in scan.cues:
        # friendly teasing: at most a review, and the model may not hide it either
        weight = _review_at_most(hit, weight, AFFECTIONATE, "affection")
    hit.weight = weight


_NOTES = {
    "quoted": (" (cité ou dénoncé)", " (quoted or denounced)"),
    "negated": (" (nié)", " (negated)"),
    "statement": (" (constat, pas un ordre)", " (a statement, not an order)"),
    "sourced": (" (attribué à une source publique ?)", " (attributed to a public source?)"),
    "own": (" (ses propres coordonnées)", " (the writer's own contact details)"),
    "joy": (" (joie ou emphase)", " (joy or emphasis)"),
    "affection": (" (taquinerie affectueuse ?)", " (affectionate teasing?)"),
    "family": (" (au sujet de son propre enfant ?)", " (about the writer's own child?)"),
    "warning": (" (mise en garde contre une arnaque ?)", " (a warning against a scam?)"),
    "prevention": (" (message de prévention ?)", " (a prevention message?)"),
    "self": (" (l'auteur parle de lui-même)", " (the writer speaking of themself)"),
    "reported": (" (propos rapportés ?)", " (reported words?)"),
}


def _evidence(hit: Hit, norm: Normalized, raw: str) -> Evidence:
    rule = hit.rule
    if hit.first < 0:
        span = (hit.start, hit.end)
        excerpt = raw[hit.start:hit.end]
    else:
        span = norm.span(hit.start, hit.end)
        excerpt = raw[span[0]:span[1]]
    excerpt = excerpt.strip()
    if len(excerpt) > 80:
        excerpt = excerpt[:77] + "…"
    fr = rule.message_fr if hit.targeted else rule.message_untargeted_fr
    en = rule.message_en if hit.targeted else rule.message_untargeted_en
    note_fr, note_en = _NOTES.get(hit.note, ("", ""))
    return Evidence(rule.category, rule.id, f"{fr}{note_fr} : « {excerpt} »",
                    f"{en}{note_en}: “{excerpt}”", span, excerpt)


def rule_weights(text: str, policy: Policy) -> dict[str, float]:
    """Given a text, return each matched rule's weight after context (for rule sample tests)."""
    norm = normalize(text)
    scan = _Scan(norm, policy)
    weights: dict[str, float] = {}
    for hit in _find_hits(scan, policy, text):
        if _allowed(hit, scan, policy, text):
            continue
        _weigh(hit, scan, text)
        weights[hit.rule.id] = max(weights.get(hit.rule.id, 0.0), hit.weight)
    return weights


def _rounded(score: float) -> float:
    """The score within [0, 1], to four decimals (0 and 1 are already: round costs a formatting)."""
    score = min(1.0, max(0.0, score))
    return round(score, 4) if 0.0 < score < 1.0 else score


def _noisy_or(values: Iterable[float]) -> float:
    remaining = 1.0
    for value in values:
        remaining *= 1.0 - min(1.0, max(0.0, value))
    return 1.0 - remaining


def classify(comment: CommentInput, context: Context) -> Verdict:
    """Given a comment and its context, return the Verdict. Pure: no I/O, no clock."""
    policy = context.policy
    raw = comment.text or ""
    norm = normalize(raw)
    scan = _Scan(norm, policy)
    hits: list[Hit] = []
    allowed_categories: set[str] = set()
    idiom_categories: set[str] = set()  # an allow-listed idiom ("en retard"), not a contact
    for hit in _find_hits(scan, policy, raw):
        if _allowed(hit, scan, policy, raw):
            if hit.rule.check in ("phone", "email", "url"):
                allowed_categories.add(hit.rule.category)
                # an official contact is no advert either: the model's guess of spam goes too
                allowed_categories.add("commercial_pourriel")
            elif hit.rule.category in IDIOM_REREAD:
                idiom_categories.add(hit.rule.category)
            else:
                allowed_categories.add(hit.rule.category)
        else:
            hits.append(hit)
    for hit in hits:
        _weigh(hit, scan, raw)

    rule_scores = dict.fromkeys(CATEGORY_IDS, 0.0)
    suppressed: dict[str, bool] = dict.fromkeys(CATEGORY_IDS, False)
    by_category: dict[str, list[float]] = {c: [] for c in CATEGORY_IDS}
    held: dict[str, float] = {}  # quoted, negated or affectionate: they count once, not together
    # rules that ask the model for more than MODEL_CORROBORATES before their review becomes a hide
    strict: dict[str, float] = {}
    for hit in hits:
        category = hit.rule.category
        if hit.suppressed:
            suppressed[category] = True
            held[category] = max(held.get(category, 0.0), hit.weight)
        else:
            by_category[category].append(hit.weight)
            if hit.rule.corroborate_at:
                strict[category] = max(strict.get(category, 0.0), hit.rule.corroborate_at)
    for category, weight in held.items():
        by_category[category].append(weight)
    for category, weights in by_category.items():
        if weights:  # none: the score stays 0.0, what _noisy_or(()) gives
            rule_scores[category] = _noisy_or(weights)
            if max(weights) >= 0.5:
                suppressed[category] = False

    scores = dict(rule_scores)
    evidence: list[Evidence] = []
    model_probabilities: dict[str, float] = {}
    if policy.model is not None and raw.strip():
        model = policy.model
        # The shipped Model reads the words the scan has already; a stand-in takes the text.
        model_probabilities = model.predict(raw, scan.keys) if isinstance(model, Model) else model.predict(raw)
        idioms = [c for c in idiom_categories - allowed_categories
                  if not by_category[c] and c in model_probabilities]
        if idioms:
            # An allow-listed idiom ("le bus est en retard") says nothing of what the rest of the
            # comment says of a group: for discrimination the model reads the comment without the
            # idiom's words, rather than being silenced ("les Haïtiens, c'est bruyant, c'est en
            # retard, c'est jamais content" passed whatever it said).
            spans = scan.allowed_spans or []
            kept = [k for i, k in enumerate(scan.keys) if not any(a <= i < b for a, b in spans)]
            reread = model.predict(raw, kept) if isinstance(model, Model) else model.predict(" ".join(kept))
            for category in idioms:
                model_probabilities[category] = reread[category]
        for category, probability in model_probabilities.items():
            if category in allowed_categories and not by_category[category]:
                model_probabilities[category] = 0.0  # the allow-list wins over the model
                continue
            review = context.thresholds.by_category[category][1]
            # the second witness of rules that would queue the comment (a strict rule's own
            # level, or MODEL_CORROBORATES beside the other rules, ``lenient``, read without the
            # strict ones) counts in full, short of certainty; alone, the model only asks for a
            # review
            lenient = _noisy_or([h.weight for h in hits if h.rule.category == category
                                 and not h.suppressed and not h.rule.corroborate_at]
                                + [held.get(category, 0.0)]) if category in strict else 0.0
            corroborates = not suppressed[category] and rule_scores[category] >= review and (
                (probability >= MODEL_CORROBORATES and (category not in strict or lenient >= review))
                or (category in strict and strict[category] < 1.0 and probability >= strict[category]))
            share = min(MODEL_CAP, probability) if corroborates else MODEL_WEIGHT * probability
            if suppressed[category]:
                share *= SUPPRESSED_MODEL
            scores[category] = 1.0 - (1.0 - rule_scores[category]) * (1.0 - share)
            if strict.get(category, 0.0) >= 1.0 and not corroborates and lenient < review:
                # a queue-only rule (corroborate_at = 1.0) carries the category: the model's
                # share beside it may not make a hide either ("je sais à quelle heure la
                # secrétaire arrive, je vais passer la voir" is a review at most)
                hide = context.thresholds.by_category[category][0]
                scores[category] = min(scores[category], max(rule_scores[category], hide - QUEUE_ONLY_MARGIN))

    # Stateful categories.
    limits = context.thresholds.by_category
    content = max(scores[c] for c in CONTENT_CATEGORIES)
    when = comment.created_time or context.now
    repeated = stateful.repetition(raw, comment.author_id, context.history, when,
                                   policy.repetition_window_hours) if context.history else None
    repetition = repeated.score if repeated else 0.0
    # a slogan too short to count as repetition may still be an anonymous campaign's
    if repeated and (repetition or repeated.anonymous_others):
        if repetition:
            scores["disgracieux_repetitif"] = min(1.0, 0.65 * repetition + 0.45 * content)
        if repeated.same_author and any(
                scores[c] >= limits[c][1] and rule_scores[c] >= OWN_COPY_RULE_EVIDENCE
                for c in CONTENT_CATEGORIES):
            # what is already queued for its own content, posted again by its author: the copy
            # is disgraceful and repetitive; hiding it hides a duplicate, not the opinion (the
            # first stays for a person to judge). A rule must have seen something in it: the
            # model alone likens too many plain remarks about a group to discrimination.
            scores["disgracieux_repetitif"] = max(scores["disgracieux_repetitif"], OWN_FLAGGED_COPY)
        # a courtesy or a question, unless it asks to spread the word
        ordinary = content < ORDINARY_CONTENT and "spreading" not in scan.cues and (
            "goodwill" in scan.cues or "?" in raw)
        if repeated.flood(ordinary):
            # hiding a flood's copy hides a duplicate: the first copies stay up with the opinion
            scores["disgracieux_repetitif"] = max(scores["disgracieux_repetitif"], OWN_FLAGGED_COPY)
        anonymous, signals = stateful.anonymity(comment.author_meta, comment.author_name)
        if anonymous:
            # A clearly anonymous author (0.7 or more: a pseudonym, an anonymous post) repeating
            # content is what policy 8.1 names; a weaker signal counts in proportion.
            scores["anonyme_repetitif"] = min(
                1.0, repeated.campaign(ordinary) * min(1.0, anonymous / stateful.ANONYMOUS) + 0.15 * content)
        detail_fr = _repetition_fr(repeated)
        detail_en = _repetition_en(repeated)
        evidence.append(Evidence("disgracieux_repetitif", "state.repetition",
                                 f"Contenu répété : {detail_fr}", f"Repeated content: {detail_en}"))
        if anonymous:
            evidence.append(Evidence(
                "anonyme_repetitif", "state.anonymity",
                "Auteur anonyme ou sans profil (" + ", ".join(_SIGNALS_FR[s] for s in signals)
                + f") ; contenu répété : {detail_fr}",
                "Anonymous or profile-less author (" + ", ".join(s.replace("_", " ") for s in signals)
                + f"); repeated content: {detail_en}"))

    for hit in sorted(hits, key=lambda h: -h.weight):
        if hit.weight >= EVIDENCE_FLOOR or hit.suppressed:
            evidence.append(_evidence(hit, norm, raw))
    for category, probability in sorted(model_probabilities.items(), key=lambda kv: -kv[1]):
        if probability >= 0.5:
            label_fr = BY_ID[category].label_fr.lower()
            label_en = BY_ID[category].label_en.lower()
            pct = round(100 * probability)
            evidence.append(Evidence(
                category, f"model.{category}",
                f"Le modèle statistique rapproche ce commentaire de la catégorie « {label_fr} » "
                f"(probabilité {pct} %)",
                f"The statistical model likens this comment to “{label_en}” (probability {pct}%)"))

    scores = {c: _rounded(s) for c, s in scores.items()}
    hidden = [c for c in CATEGORY_IDS if scores[c] >= limits[c][0]]
    flagged = [c for c in CATEGORY_IDS if scores[c] >= limits[c][1]]
    action = "hide" if hidden else ("review" if flagged else "allow")
    critical = any(h.rule.severity == "critical" and not h.suppressed
                   and scores[h.rule.category] >= limits[h.rule.category][1] for h in hits)
    flagged_set = set(flagged)
    return Verdict(
        action=action,
        categories=tuple(sorted(flagged, key=lambda c: -scores[c])),
        scores=scores,
        evidence=tuple(e for e in evidence if e.category in flagged_set) or tuple(evidence[:3]),
        rule_ids=tuple(dict.fromkeys(e.rule_id for e in evidence if e.category in flagged_set)),
        alert=critical or any(BY_ID[c].alert for c in flagged),
        classifier_version=policy.version,
    )


_SIGNALS_FR = {
    "anonymous": "anonyme",
    "no_real_name": "sans nom réel",
    "no_profile": "sans profil",
    "new_account": "compte récent",
    "no_followers": "aucun abonné",
    "generated_handle": "pseudonyme généré",
    "pseudonym": "nom d'affichage qui n'est pas un nom de personne",
}


def _repetition_fr(r: stateful.Repetition) -> str:
    parts = []
    if r.same_author:
        parts.append(f"{r.same_author} fois déjà par le même auteur")
    if r.other_authors:
        parts.append(f"par {r.other_authors} autre(s) compte(s)"
                     + (f", dont {r.anonymous_others} anonyme(s)" if r.anonymous_others else ""))
    return ", ".join(parts) + " dans la fenêtre de surveillance"


def _repetition_en(r: stateful.Repetition) -> str:
    parts = []
    if r.same_author:
        parts.append(f"{r.same_author} time(s) already by the same author")
    if r.other_authors:
        parts.append(f"by {r.other_authors} other account(s)"
                     + (f", {r.anonymous_others} of them anonymous" if r.anonymous_others else ""))
    return ", ".join(parts) + " within the window"


def default_thresholds() -> Thresholds:
    """Return the configuration's default thresholds (watcher.config.DEFAULT_THRESHOLDS)."""
    from watcher.config import DEFAULT_THRESHOLDS

    return Thresholds({c: (t.hide, t.review) for c, t in DEFAULT_THRESHOLDS.items()})

