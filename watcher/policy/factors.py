"""Literal pre-filters for the rules' regular expressions, derived from the patterns themselves.

Most rule patterns begin with ``\\b``, so Python's ``re`` finds no literal prefix to scan for and
tries the whole pattern at every position of the text: a few microseconds per pattern per comment,
for patterns that almost never match. :func:`required_sets` reads a compiled pattern's syntax tree
and returns sets of literal strings such that **every** text the pattern matches contains one
string of each set; when a set has none of its strings in the text, the search cannot succeed and
is skipped. The engine finds every set's strings in one pass over the comment (Aho-Corasick).

The derivation is conservative, so the skip never changes a result:

- literals, small character classes (``[- ]``) and bounded repetitions of them (``s?``, ``x{2}``)
  have a finite set of exact strings; a run of such elements concatenates them (``mak`` + ``e|ing``
  gives ``make``, ``making``);
- zero-width assertions (``\\b``, ``^``, look-arounds) count as the empty string in a run, which
  only weakens the claim; a positive look-around's own factors may serve (the text must contain
  them), a negative one's never do;
- an alternation needs factors from every branch (their union); a repetition that may occur zero
  times, a class with categories (``\\s``, ``\\w``) or negation, ``.``, back-references and
  case-insensitive parts give none;
- each element of a sequence, and each longest run of consecutive exact elements, gives its own
  set; a set another one implies, or holding a string shorter than ``MIN_LENGTH``, is dropped.

Patterns compiled with ``re.IGNORECASE`` (the ``on = "raw"`` rules) get no pre-filter.

A pattern like ``\\b(?:GROUP)\\b…\\b(?:devraient|doivent)\\s+…`` needs a group's name, a verb and
what follows: three sets, and a comment rarely holds all three. A test checks the claim on every
rule sample and corpus text (tests/test_policy_factors.py).
"""

from __future__ import annotations

import re
import re._constants as sre  # the stable parser of the standard library (3.11+)
import re._parser as sre_parse
from collections.abc import Iterable

LIMIT = 64  # largest set of strings kept while concatenating
MIN_LENGTH = 2  # required_sets keeps no set holding a shorter string

_ZERO_WIDTH = {sre.AT}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}

Strings = frozenset[str]


def required_sets(pattern: re.Pattern[str]) -> tuple[tuple[str, ...], ...]:
    """Given a compiled pattern, return sets of literals such that every match's text contains
    one literal of **each** set (a conjunction; empty when none can be shown).

    Every set the pattern's elements give is kept: a name list, the verb after it and the word
    after that are each required, and a comment rarely holds all three. Sets are checked together against the literals found in
    one pass over the comment, so their number and size cost almost nothing at classification
    time. A set holding a string shorter than ``MIN_LENGTH`` is dropped (nearly every comment
    holds it, and its occurrences would flood that pass), as is a set that another one implies.
    Ordered from the most selective (by :func:`_cost`) to the least.
    """
    if pattern.flags & re.IGNORECASE or not isinstance(pattern.pattern, str):
        return ()
    tree = sre_parse.parse(pattern.pattern, pattern.flags)
    if tree.state.flags & re.IGNORECASE:
        return ()
    sets: list[Strings] = []
    for strings in _all_required(list(tree)):
        if strings not in sets:
            sets.append(strings)
    kept = [s for s in sets if not any(t != s and _implies(t, s) for t in sets)]
    kept.sort(key=lambda c: (_cost(c), sorted(c)))
    return tuple(tuple(sorted(s, key=lambda x: (len(x), x))) for s in kept)


def literal_probe(strings: Iterable[str]) -> re.Pattern[str]:
    """Given literal strings, return a pattern that finds any of them.

    For a rule's long ``needs`` list this is faster than one ``in`` test per string; for the
    patterns' few factors (often sharing first letters), the ``in`` tests are faster (measured).
    """
    return re.compile("|".join(re.escape(s) for s in strings))


def _minimal(strings: Iterable[str]) -> Strings:
    """Drop every string that contains another of the set (the shorter one is found first)."""
    ordered = sorted(set(strings), key=len)
    kept: list[str] = []
    for s in ordered:
        if not any(k in s for k in kept):
            kept.append(s)
    return frozenset(kept)


def chance(strings: Iterable[str]) -> float:
    """A rough guess of how likely a comment holds one of the strings: short strings are common.
    Good enough to rank sets, not to predict."""
    return min(1.0, sum(0.5 ** min(len(s), 8) for s in strings))


def _cost(strings: Strings) -> float:
    """The expected cost of a pre-filter, in substring tests: its tests, plus a search (about a
    hundred tests' worth) each time it lets a text through."""
    return len(strings) + 100.0 * chance(strings)


def _exact_seq(seq: list) -> Strings | None:  # type: ignore[type-arg]
    out: set[str] = {""}
    for node in seq:
        strings = _exact(node)
        if strings is None:
            return None
        out = {a + b for a in out for b in strings}
        if len(out) > LIMIT:
            return None
    return frozenset(out)


def _exact(node: tuple) -> Strings | None:  # type: ignore[type-arg]
    """The finite set of strings a node matches, or None (unbounded, too many, or unknown)."""
    op, av = node
    if op is sre.LITERAL:
        return frozenset({chr(av)})
    if op in _ZERO_WIDTH:
        return frozenset({""})
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return frozenset({""})  # consumes nothing
    if op is sre.IN:
        chars: set[str] = set()
        for item_op, item_av in av:
            if item_op is sre.LITERAL:
                chars.add(chr(item_av))
            elif item_op is sre.RANGE and item_av[1] - item_av[0] < 16:
                chars.update(chr(c) for c in range(item_av[0], item_av[1] + 1))
            else:
                return None  # NEGATE, CATEGORY, wide ranges
        return frozenset(chars) if len(chars) <= LIMIT else None
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, seq = av
        if add_flags & re.IGNORECASE:
            return None
        return _exact_seq(list(seq))
    if op is sre.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            strings = _exact_seq(list(branch))
            if strings is None:
                return None
            out |= strings
            if len(out) > LIMIT:
                return None
        return frozenset(out)
    if op in _REPEATS:
        low, high, item = av
        if high is sre.MAXREPEAT or high > 4:
            return None
        once = _exact_seq(list(item))
        if once is None:
            return None
        out = set()
        power: set[str] = {""}
        for count in range(high + 1):
            if count >= low:
                out |= power
            if count < high:
                power = {a + b for a in power for b in once}
                if len(power) > LIMIT:
                    return None
        return frozenset(out) if len(out) <= LIMIT else None
    return None  # ANY, NOT_LITERAL, GROUPREF, ATOMIC_GROUP, …


def _concatenated(run: set[str], exact: Strings | None) -> set[str] | None:
    """The run's strings followed by each of ``exact``'s; None when the element is not exact or
    the run would grow past ``LIMIT`` strings (the run ends there)."""
    if exact is None:
        return None
    longer = {a + b for a in run for b in exact}
    return longer if len(longer) <= LIMIT else None


def _implies(a: Strings, b: Strings) -> bool:
    """Does a text holding one of ``a`` always hold one of ``b``? (Each of ``a`` contains one of
    ``b``.) Only tried on sets small enough for the test to be cheap; otherwise no."""
    if len(a) * len(b) > 4096:
        return False
    return all(any(y in x for y in b) for x in a)


def _flatten(seq: list) -> list:  # type: ignore[type-arg]
    """The sequence with its groups opened: a group matches what its sequence matches."""
    out = []
    for node in seq:
        op, av = node
        if op is sre.SUBPATTERN and not av[1] & re.IGNORECASE:
            out.extend(_flatten(list(av[3])))
        else:
            out.append(node)
    return out


def _all_required(seq: list) -> list[Strings]:  # type: ignore[type-arg]
    """Every set of strings the sequence shows required (each, not one of them).

    Each longest run of consecutive exact elements from each start gives a set (the runs it
    covers are implied by it); an element that is no such run gives its own: a look-around's
    content, a repetition's item occurring at least once, a branch's union of each branch's
    cheapest set. Sets holding a string shorter than ``MIN_LENGTH`` are left out.
    """
    seq = _flatten(seq)
    exacts = [None if node[0] is sre.ASSERT else _exact(node) for node in seq]
    out: list[Strings] = []
    for node, exact in zip(seq, exacts, strict=True):
        if exact is not None:
            continue  # in the runs below
        op, av = node
        if op is sre.ASSERT:
            out.extend(_all_required(list(av[1])))
        elif op in _REPEATS:
            if av[0] >= 1:
                out.extend(_all_required(list(av[2])))
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            out.extend(_all_required(list(av)))
        elif op is sre.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                options = _all_required(list(branch))
                if not options:
                    break
                union |= min(options, key=lambda c: (_cost(c), sorted(c)))
            else:
                out.append(frozenset(union))
    empty = frozenset({""})
    in_runs = [empty if node[0] is sre.ASSERT else exact for node, exact in zip(seq, exacts, strict=True)]
    furthest = first = 0
    while first < len(seq):
        run: set[str] = {""}
        end = first
        for exact in in_runs[first:]:
            longer = _concatenated(run, exact)
            if longer is None:
                break
            run = longer
            end += 1
        if end > furthest and "" not in run:
            out.append(frozenset(run))
            furthest = end
        # a run stopped by an inexact element (or the end): the runs starting inside it stop
        # there too, and it implies them; one stopped by LIMIT: the next start may go further
        first = end + 1 if end == len(seq) or in_runs[end] is None else first + 1
    kept = []
    for strings in map(_minimal, out):
        if min(map(len, strings)) >= MIN_LENGTH:
            kept.append(strings)
    return kept
