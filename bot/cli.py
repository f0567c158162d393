"""Dòng lệnh của trợ lý Zalo: kiểm tra cơ sở tri thức, hỏi thử bot, gửi thông báo, tài khoản.

Each area registers its subcommands from its own module.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.clihelp import VietnameseHelp, VietnameseParser, vietnamese
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
    parser = VietnameseParser(
        prog="python -m bot",
        description=(__doc__ or "").splitlines()[0],
        add_help=False,
        formatter_class=VietnameseHelp,
    )
    vietnamese(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi cả nhật ký gỡ lỗi")
    subparsers = parser.add_subparsers(dest="command", metavar="LỆNH", title="các lệnh")
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
