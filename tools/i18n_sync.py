"""Developer tool: extract a component's messages and merge them into its French catalog.

    python tools/i18n_sync.py watcher     # watcher/ + connectors/registry.py → watcher/locale
    python tools/i18n_sync.py --check watcher

New messages are added with an empty translation; --check exits non-zero when a message used
in the code has no French translation (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]

# component → (domain, locale dir, source folders)
COMPONENTS: dict[str, tuple[str, Path, list[Path]]] = {
    "watcher": (
        "vigie",
        REPO / "watcher" / "locale",
        [REPO / "watcher", REPO / "connectors" / "registry.py"],
    ),
    "graph": (
        "graph",
        REPO / "connectors" / "locale",
        [REPO / "connectors" / f"{name}.py" for name in ("graph", "facebook", "instagram",
                                                         "webhook")],
    ),
    "connectors_xyt": (
        "vigie_xyt",
        REPO / "connectors" / "locale",
        [REPO / "connectors" / "x.py", REPO / "connectors" / "youtube.py"],
    ),
}


def extract(sources: list[Path], exclude: tuple[str, ...] = ("console", "locale")) -> set[str]:
    ids: set[str] = set()
    for source in sources:
        if source.is_file():
            from babel.messages.extract import extract_from_file

            for _line, message, _comments, _context in extract_from_file("python", str(source)):
                ids.add(message if isinstance(message, str) else message[0])
            continue
        for filename, _line, message, _comments, _context in extract_from_dir(
            str(source), method_map=[("**.py", "python")]
        ):
            if any(part in Path(filename).parts for part in exclude):
                continue
            ids.add(message if isinstance(message, str) else message[0])
    return {i for i in ids if i}


def po_path(locale_dir: Path, domain: str) -> Path:
    return locale_dir / "fr" / "LC_MESSAGES" / f"{domain}.po"


def missing(component: str) -> list[str]:
    domain, locale_dir, sources = COMPONENTS[component]
    path = po_path(locale_dir, domain)
    catalog = Catalog(locale="fr")
    if path.exists():
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale="fr")
    return sorted(i for i in extract(sources) if not (catalog.get(i) and catalog.get(i).string))


def sync(component: str) -> int:
    domain, locale_dir, sources = COMPONENTS[component]
    path = po_path(locale_dir, domain)
    catalog = Catalog(locale="fr", domain=domain, project="vigie")
    if path.exists():
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale="fr", domain=domain)
    added = 0
    for message_id in sorted(extract(sources)):
        if catalog.get(message_id) is None:
            catalog.add(message_id, "")
            added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, omit_header=False, sort_output=True)
    return added


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("component", choices=sorted(COMPONENTS))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        absent = missing(args.component)
        for message_id in absent:
            print(f"untranslated: {message_id!r}")
        return 1 if absent else 0
    print(f"{sync(args.component)} message(s) added to the catalog")
    return 0


if __name__ == "__main__":
    sys.exit(main())
