"""Developer tool: fill French translations into a domain's catalog from a Python dict file.

    python tools/i18n_fill.py vigie /path/to/translations.py   (the file defines T = {id: str})
"""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import write_po
from i18n_sync import _read, catalog_path

domain, source = sys.argv[1], sys.argv[2]
path = catalog_path(domain)
catalog = _read(path, domain)
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
