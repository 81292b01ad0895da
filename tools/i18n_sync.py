"""Developer tool: extract each gettext domain's messages and merge them into its French catalog.

    python tools/i18n_sync.py            # add new messages (empty translations) to every catalog
    python tools/i18n_sync.py --check    # list messages without a French translation; exit 1

A Python file belongs to the domain of the ``_`` it uses: ``_ = translator("D", ...)`` in the
file, ``from M import _`` (the domain of module M), or ``watcher.i18n``'s ``vigie``. Each
domain's catalog is the one ``<domain>.po`` under a ``locale/fr/LC_MESSAGES`` folder of the
repository. The test suite runs the same check.

Python's own argparse messages (usage, headings, errors of the ``vigie`` command) form the
``argparse`` domain: its sources are the running Python's ``argparse.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("watcher", "connectors", "reports")
OWN = re.compile(r"^_\s*=\s*translator\(\s*[\"']([\w\-]+)[\"']", re.M)
IMPORTED = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+.*\b_\b", re.M)


def _module_file(module: str) -> Path | None:
    path = REPO / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def domain_of(path: Path, seen: frozenset[Path] = frozenset()) -> str | None:
    text = path.read_text(encoding="utf-8")
    own = OWN.search(text)
    if own:
        return own.group(1)
    for module in IMPORTED.findall(text):
        if module == "watcher.i18n":
            return "vigie"
        target = _module_file(module)
        if target and target not in seen:
            return domain_of(target, seen | {path})
    return None


def sources() -> dict[str, list[Path]]:
    by_domain: dict[str, list[Path]] = defaultdict(list)
    by_domain["argparse"].append(Path(argparse.__file__))
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "locale" in path.parts:
                continue
            domain = domain_of(path)
            if domain:
                by_domain[domain].append(path)
    return by_domain


def catalog_path(domain: str) -> Path:
    found = sorted(REPO.glob(f"*/**/locale/fr/LC_MESSAGES/{domain}.po"))
    found = [p for p in found if not {".venv", "build", "dist"} & set(p.parts)]
    if found:
        return found[0]
    return REPO / "watcher" / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po"


def extract(paths: list[Path]) -> set[str]:
    ids: set[str] = set()
    for path in paths:
        for _line, message, _comments, _context in extract_from_file("python", str(path)):
            ids.add(message if isinstance(message, str) else message[0])
    return {i for i in ids if i}


def _read(path: Path, domain: str) -> Catalog:
    if not path.exists():
        return Catalog(locale="fr", domain=domain, project="vigie")
    with path.open("rb") as po_file:
        return read_po(po_file, locale="fr", domain=domain)


def missing() -> dict[str, list[str]]:
    """Return, per domain, the messages used in the code without a French translation."""
    result: dict[str, list[str]] = {}
    for domain, paths in sorted(sources().items()):
        catalog = _read(catalog_path(domain), domain)
        absent = sorted(
            i for i in extract(paths) if not (catalog.get(i) and catalog.get(i).string)
        )
        if absent:
            result[domain] = absent
    return result


def sync() -> dict[str, int]:
    added: dict[str, int] = {}
    for domain, paths in sorted(sources().items()):
        path = catalog_path(domain)
        catalog = _read(path, domain)
        catalog.fuzzy = False
        count = 0
        for message_id in sorted(extract(paths)):
            if catalog.get(message_id) is None:
                catalog.add(message_id, "")
                count += 1
        added[domain] = count
        if not count and path.exists():
            continue  # leave an up-to-date catalog untouched
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(out, catalog, width=100, sort_output=True)
    return added


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        absent = missing()
        for domain, ids in absent.items():
            for message_id in ids:
                print(f"{domain}: untranslated: {message_id!r}")
        return 1 if absent else 0
    for domain, count in sync().items():
        print(f"{domain}: {count} message(s) added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
