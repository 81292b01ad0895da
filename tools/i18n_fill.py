"""Developer tool: fill French translations into a catalog from a Python dict file.

    python tools/i18n_fill.py watcher /path/to/translations.py   (defines T = {msgid: msgstr})
"""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po, write_po
from i18n_sync import COMPONENTS, po_path

component, source = sys.argv[1], sys.argv[2]
domain, locale_dir, _sources = COMPONENTS[component]
path = po_path(locale_dir, domain)
with path.open("rb") as po_file:
    catalog = read_po(po_file, locale="fr", domain=domain)
catalog.fuzzy = False
table = runpy.run_path(source)["T"]
filled = 0
for message in catalog:
    if message.id and message.id in table:
        message.string = table[message.id]
        message.flags.discard("fuzzy")
        filled += 1
with path.open("wb") as out:
    write_po(out, catalog, width=100, sort_output=True)
print(f"{filled} translation(s) written to {path}")
