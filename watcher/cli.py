"""The ``vigie`` command.

Each component registers its own subcommands: a module listed in ``COMMAND_MODULES`` defines
``register(subparsers)`` and gives every subcommand a ``func(args) -> int``. Errors are one clear
sentence and a non-zero exit; the traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from watcher import __version__
from watcher.errors import VigieError
from watcher.i18n import WATCHER_LOCALE_DIR, _, ngettext_for, set_language, translator

COMMAND_MODULES: tuple[str, ...] = (
    "watcher.commands",
    "connectors.webhook",
    "watcher.ops_cli",
    "watcher.policy.cli",
    "reports.cli",
    "watcher.console.commands",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3  # `vigie status`: something needs a person


def _speak_argparse() -> None:
    """Route argparse's own messages (usage, headings, errors) through Vigie's catalogs.

    argparse marks its messages for gettext and looks ``_`` and ``ngettext`` up in its module at
    call time; binding them to the ``argparse`` domain (``watcher/locale/fr/LC_MESSAGES/
    argparse.po``) makes ``--help`` and usage errors French by default, English with ``--lang en``.
    """
    argparse._ = translator("argparse", WATCHER_LOCALE_DIR)  # type: ignore[attr-defined]
    argparse.ngettext = ngettext_for("argparse", WATCHER_LOCALE_DIR)  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(_("vigie: error: {message}").format(message=message) + "\n")
        raise SystemExit(EXIT_USAGE)


def _language_from_argv(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vigie",
        description=_(
            "Vigil over the approved social-media spaces of an institution "
            "(policy R-SG-06, sections 7.3, 8.1 and 8.2)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"vigie {__version__}",
                        help=_("show the version and exit"))
    parser.add_argument(
        "-c", "--config", metavar="FILE", help=_("configuration file (default: $VIGIE_CONFIG, "
        "./vigie.toml, /etc/vigie/vigie.toml)")
    )
    parser.add_argument("--lang", choices=["fr", "en"], help=_("language of messages"))
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks and debug logs"))
    subparsers = parser.add_subparsers(dest="command", metavar=_("COMMAND"), parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(_language_from_argv(argv))
    _speak_argparse()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.getLogger().setLevel(logging.DEBUG)
    try:
        return int(args.func(args) or EXIT_OK)
    except VigieError as error:
        if args.debug:
            raise
        sys.stderr.write(f"vigie: {error}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(_("vigie: interrupted") + "\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
