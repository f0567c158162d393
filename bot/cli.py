"""The command line: each area registers its subcommands from its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import ConfigError
from bot.logs import configure_logging

COMMAND_MODULES = (
    "bot.kb.cli",  # kb check, kb list
    "bot.chat_cli",  # ask, chat
    "bot.outreach.cli",  # broadcast, dossiers, followers
    "bot.admin.cli",  # admin create-user
    "bot.devserver",  # run-local, simulator, sender
)
"""Modules with an `add_commands(subparsers)` function (imported here, not at start-up)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
