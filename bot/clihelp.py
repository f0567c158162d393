"""Command-line help in Vietnamese: usage line, headings and `-h` for every command."""

from __future__ import annotations

import argparse
from typing import Any


class VietnameseHelp(argparse.RawDescriptionHelpFormatter):
    """Help with a Vietnamese usage line."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        """Start the usage line with "Cách dùng:"."""
        super().add_usage(usage, actions, groups, "Cách dùng: " if prefix is None else prefix)


def vietnamese(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Vietnamese headings and a Vietnamese `-h` for a parser made with `add_help=False`."""
    parser._positionals.title = "tham số"
    parser._optionals.title = "tùy chọn"
    parser.add_argument("-h", "--help", action="help", help="hiện hướng dẫn này rồi thoát")
    return parser


def subcommand(commands: argparse._SubParsersAction, name: str, text: str, **kwargs: Any) -> Any:
    """A subcommand whose help, headings included, is in Vietnamese."""
    sub = commands.add_parser(
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        add_help=False,
        formatter_class=VietnameseHelp,
        **kwargs,
    )
    return vietnamese(sub)


def group(subparsers: argparse._SubParsersAction, name: str, text: str) -> tuple[Any, Any]:
    """A command with subcommands; alone, it prints its help (exit status 2)."""
    parser = subcommand(subparsers, name, text)
    commands = parser.add_subparsers(dest=f"{name}_command", metavar="LỆNH", title="các lệnh")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    return parser, commands
