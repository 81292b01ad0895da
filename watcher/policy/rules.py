"""Rules as data: lexicons and patterns read from TOML files under ``config/policy/``.

A policy folder holds ``*.toml`` rule files and, optionally, ``allowlist.toml``. Each rule file
is a list of ``[[rule]]`` tables::

    [[rule]]
    id = "fr.insult.general"          # stable, stored with each verdict
    category = "diffamation_irrespect"
    language = "fr"                   # fr, en or any
    severity = "high"                 # low, medium, high or critical (critical alerts at once)
    kind = "lexicon"                  # lexicon (words and phrases) or pattern (regular expressions)
    weight = 0.9                      # score when the rule's context condition holds
    weight_untargeted = 0.5           # score when it aims at nobody (default: weight)
    terms = ["connard", "conasse"]    # lexicon: compared after normalization
    corroborate_at = 0.9              # optional: the model's agreement its review needs to hide (1: never)
    attributable = true               # optional: an accusation "selon le journal" is a review at most
    preventable = true                # optional: named in a prevention message, a review at most
    message_fr = "Insulte visant une personne"
    message_en = "Insult aimed at a person"
    positive = ["T'es un connard"]     # samples that must fire the rule
    negative = ["Il ne faut pas traiter les gens de connard"]  # samples that must not

Patterns are regular expressions over the normalized text (lower case, no accents, ``'`` for
every apostrophe); ``on = "raw"`` runs them over the original text instead (phone numbers,
e-mail addresses). ``triggers`` (words), ``needs`` (substrings of the lower-cased text) and
``min_digits`` say when a pattern rule is worth trying at all; each pattern also gets, at load,
the literals one of which any of its matches contains (:mod:`watcher.policy.factors`), so rule
authors write no pre-filter per pattern.

A site adds its own rules in its own folder (``[policy] extra_dirs``), adds terms to a shipped
rule with ``[[extend]] rule = "…" terms = […]``, and lists what must never be held against a
comment in ``allowlist.toml`` (``terms``, ``phones``, ``emails``, ``domains``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.categories import CATEGORY_IDS
from watcher.errors import ConfigError
from watcher.policy.normalize import fold

SEVERITIES = ("low", "medium", "high", "critical")
LANGUAGES = ("fr", "en", "any")
KINDS = ("lexicon", "pattern")
TARGETING = ("none", "person", "near", "group")
RULE_KEYS = {
    "id", "category", "language", "severity", "kind", "weight", "weight_untargeted", "terms",
    "patterns", "on", "triggers", "target", "negatable", "quotable", "message_fr", "message_en",
    "message_untargeted_fr", "message_untargeted_en", "positive", "negative", "check",
    "min_digits", "needs", "corroborate_at", "attributable", "preventable",
}
ALLOW_KEYS = {"terms", "phones", "emails", "domains", "note"}


@dataclass(frozen=True)
class Rule:
    """One rule: what it matches, how much it weighs, and how to explain it."""

    id: str
    category: str
    language: str
    severity: str
    kind: str
    weight: float
    weight_untargeted: float
    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    on: str  # "normalized" or "raw"
    triggers: frozenset[str]  # folded tokens, one of which must be present (speed)
    target: str  # none; person (built on the word: "t'es un X"); near (a person nearby); group
    negatable: bool
    quotable: bool
    message_fr: str
    message_en: str
    message_untargeted_fr: str
    message_untargeted_en: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    check: str  # special post-check: "" | "phone" | "email" | "nas" | "url"
    source: str
    min_digits: int = 0  # skip the rule when the text has fewer digits (speed)
    needs: tuple[str, ...] = ()  # skip unless one of these is in the lower-cased text (speed)
    # the model probability that must agree before this rule's review becomes a hide (0: the
    # engine's MODEL_CORROBORATES; 1: never, the rule only queues); a rule reading a shape many
    # neutral remarks share asks more
    corroborate_at: float = 0.0
    # an accusation attributed to a public source ("selon le journal", "la police dit"): news a
    # person must weigh, so a review at most, never hidden on the rules' word
    attributable: bool = False
    # a sale or an exploitation named in a prevention message ("si vous voyez quelqu'un vendre des
    # vapes aux jeunes, appelez la police"): a person looks, but it is not hidden on the rules' word
    preventable: bool = False


@dataclass(frozen=True)
class AllowList:
    terms: frozenset[str] = frozenset()  # folded phrases that never count
    phones: frozenset[str] = frozenset()  # digits only, 10 digits
    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    allow: AllowList = field(default_factory=AllowList)
    sources: list[str] = field(default_factory=list)


def _error(path: Path, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


def _strings(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(path, f"{where}: expected a list of strings")
    return tuple(value)


def _rule(data: dict[str, Any], path: Path, defines: dict[str, str] | None = None) -> Rule:
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not re.fullmatch(r"[a-z0-9_.\-]+", rule_id):
        raise _error(path, f"a rule needs an id of lower-case letters, digits, . _ - (got {rule_id!r})")
    unknown = sorted(set(data) - RULE_KEYS)
    if unknown:
        raise _error(path, f"rule {rule_id}: unknown key(s) {', '.join(unknown)}")
    where = f"rule {rule_id}"
    category = data.get("category")
    if category not in CATEGORY_IDS:
        raise _error(path, f"{where}: unknown category {category!r}")
    language = data.get("language", "any")
    severity = data.get("severity", "medium")
    kind = data.get("kind", "lexicon")
    target = data.get("target", "none")
    on = data.get("on", "normalized")
    for name, value, allowed in (("language", language, LANGUAGES),
                                 ("severity", severity, SEVERITIES), ("kind", kind, KINDS),
                                 ("target", target, TARGETING),
                                 ("on", on, ("normalized", "raw"))):
        if value not in allowed:
            raise _error(path, f"{where}: {name} must be one of {', '.join(allowed)}")
    weight = data.get("weight")
    if not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise _error(path, f"{where}: weight must be a number in (0, 1]")
    weight_untargeted = data.get("weight_untargeted", weight)
    if not isinstance(weight_untargeted, int | float) or not 0 <= weight_untargeted <= 1:
        raise _error(path, f"{where}: weight_untargeted must be a number in [0, 1]")
    terms = _strings(data.get("terms"), path, where)
    raw_patterns = _strings(data.get("patterns"), path, where)
    if kind == "lexicon" and not terms:
        raise _error(path, f"{where}: a lexicon rule needs terms")
    if kind == "pattern" and not raw_patterns:
        raise _error(path, f"{where}: a pattern rule needs patterns")
    patterns = []
    for raw in raw_patterns:
        for name, alternation in (defines or {}).items():
            raw = raw.replace(f"(?:{name})", f"(?:{alternation})")
        try:
            patterns.append(re.compile(raw, re.IGNORECASE if on == "raw" else 0))
        except re.error as error:
            raise _error(path, f"{where}: bad pattern {raw!r}: {error}") from None
    for key in ("message_fr", "message_en"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _error(path, f"{where}: {key} is required")
    check = data.get("check", "")
    if check not in ("", "phone", "email", "nas", "url"):
        raise _error(path, f"{where}: check must be phone, email, nas or url")
    triggers = frozenset(fold(t) for t in _strings(data.get("triggers"), path, where))
    split = sorted(t for t in triggers if " " in t or not t)
    if split:
        # a trigger is compared with one word of the comment: "j'ai" or "abonnez-vous" would
        # never be present, and the rule would never wake on it
        raise _error(path, f"{where}: a trigger must be one word (without apostrophe or "
                           f"hyphen): {', '.join(repr(t) for t in split)}")
    for key in ("attributable", "preventable"):
        if not isinstance(data.get(key, False), bool):
            raise _error(path, f"{where}: {key} must be true or false")
    corroborate_at = data.get("corroborate_at", 0.0)
    if not isinstance(corroborate_at, int | float) or not 0 <= corroborate_at <= 1:
        raise _error(path, f"{where}: corroborate_at must be a number in [0, 1]")
    return Rule(
        id=rule_id,
        category=category,
        language=language,
        severity=severity,
        kind=kind,
        weight=float(weight),
        weight_untargeted=float(weight_untargeted),
        terms=tuple(t for t in (fold(term) for term in terms) if t),
        patterns=tuple(patterns),
        on=on,
        triggers=triggers,
        target=target,
        negatable=bool(data.get("negatable", True)),
        quotable=bool(data.get("quotable", True)),
        message_fr=data["message_fr"].strip(),
        message_en=data["message_en"].strip(),
        message_untargeted_fr=str(data.get("message_untargeted_fr", data["message_fr"])).strip(),
        message_untargeted_en=str(data.get("message_untargeted_en", data["message_en"])).strip(),
        positive=_strings(data.get("positive"), path, where),
        negative=_strings(data.get("negative"), path, where),
        check=check,
        source=str(path),
        min_digits=int(data.get("min_digits", 0)),
        needs=_strings(data.get("needs"), path, where),
        corroborate_at=float(corroborate_at),
        attributable=bool(data.get("attributable", False)),
        preventable=bool(data.get("preventable", False)),
    )


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise _error(path, f"cannot be read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise _error(path, f"is not valid TOML: {error}") from None


def load_rules(dirs: Iterable[Path]) -> RuleSet:
    """Given policy folders (shipped first, then the site's), return their rules and allow-list.

    Raise ConfigError for a missing folder, an unreadable or invalid file, or a duplicate rule id.
    """
    ruleset = RuleSet()
    by_id: dict[str, Rule] = {}
    extensions: list[tuple[Path, dict[str, Any]]] = []
    allow: dict[str, set[str]] = {"terms": set(), "phones": set(), "emails": set(), "domains": set()}
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: no such policy folder")
        for path in sorted(folder.glob("*.toml")):
            data = _read_toml(path)
            ruleset.sources.append(str(path))
            if path.name == "context.toml":
                continue  # context word lists, read by the engine
            if path.name == "allowlist.toml":
                unknown = sorted(set(data) - ALLOW_KEYS)
                if unknown:
                    raise _error(path, f"unknown key(s) {', '.join(unknown)}")
                allow["terms"].update(fold(t) for t in _strings(data.get("terms"), path, "terms"))
                allow["phones"].update(_digits(p) for p in _strings(data.get("phones"), path, "phones"))
                allow["emails"].update(e.lower() for e in _strings(data.get("emails"), path, "emails"))
                allow["domains"].update(d.lower().lstrip("@") for d in
                                        _strings(data.get("domains"), path, "domains"))
                continue
            unknown = sorted(set(data) - {"rule", "extend", "define"})
            if unknown:
                raise _error(path, f"unknown table(s) {', '.join(unknown)} (expected [[rule]] or [[extend]])")
            defines = {}
            for name, values in data.get("define", {}).items():
                defines[name] = "|".join(_strings(values, path, f"define.{name}"))
            for entry in data.get("rule", []):
                rule = _rule(entry, path, defines)
                if rule.id in by_id:
                    raise _error(path, f"rule {rule.id} is already defined in {by_id[rule.id].source}")
                by_id[rule.id] = rule
            extensions.extend((path, entry) for entry in data.get("extend", []))
    for path, entry in extensions:
        target = by_id.get(entry.get("rule", ""))
        if target is None:
            raise _error(path, f"[[extend]] names an unknown rule {entry.get('rule')!r}")
        if set(entry) - {"rule", "terms", "patterns"}:
            raise _error(path, "[[extend]] takes only rule, terms and patterns")
        extra_terms = tuple(fold(t) for t in _strings(entry.get("terms"), path, "terms"))
        extra_patterns = tuple(re.compile(p) for p in _strings(entry.get("patterns"), path, "patterns"))
        by_id[target.id] = Rule(**{**target.__dict__, "terms": target.terms + extra_terms,
                                   "patterns": target.patterns + extra_patterns})
    ruleset.rules = list(by_id.values())
    ruleset.allow = AllowList(*(frozenset(allow[k]) for k in ("terms", "phones", "emails", "domains")))
    return ruleset


def rules_without_samples(rules: Sequence[Rule]) -> list[str]:
    """Return the ids of rules lacking a positive or a negative sample."""
    return [r.id for r in rules if not r.positive or not r.negative]
