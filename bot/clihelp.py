"""Command-line help in Vietnamese: usage line, headings and `-h` for every command."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

ERRORS = (
    (
        r"invalid choice: (.*) \(choose from (.*)\)",
        r"lựa chọn không hợp lệ: \1 (chọn một trong: \2)",
    ),
    (r"expected one argument", "cần một giá trị"),
    (r"expected at least one argument", "cần ít nhất một giá trị"),
    (r"the following arguments are required: (.*)", r"thiếu tham số bắt buộc: \1"),
    (r"unrecognized arguments: (.*)", r"tham số không nhận ra: \1"),
    (r"invalid (\w+) value: (.*)", r"giá trị không hợp lệ: \2"),
    (r"not allowed with argument (.*)", r"không dùng cùng với \1"),
    (r"ambiguous option: (.*)", r"tùy chọn chưa rõ: \1"),
)
"""argparse's English usage errors and their Vietnamese wording (the first that matches)."""


class VietnameseHelp(argparse.RawDescriptionHelpFormatter):
    """Help with a Vietnamese usage line."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        """Start the usage line with "Cách dùng:"."""
        super().add_usage(usage, actions, groups, "Cách dùng: " if prefix is None else prefix)


def translated(message: str) -> str:
    """A usage error of argparse in Vietnamese (unknown wording is kept as it is)."""
    text = (
        message.replace("argument ", "tham số ", 1) if message.startswith("argument ") else message
    )
    for pattern, wording in ERRORS:
        text, count = re.subn(pattern, wording, text)
        if count:
            break
    return text


class VietnameseParser(argparse.ArgumentParser):
    """A parser whose usage errors are in Vietnamese (exit status 2, as argparse)."""

    def error(self, message: str) -> NoReturn:
        """Print the usage line and the error in Vietnamese, then exit with status 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: lỗi: {translated(message)}\n")


def vietnamese(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Vietnamese headings and a Vietnamese `-h` for a parser made with `add_help=False`."""
    parser._positionals.title = "tham số"
    parser._optionals.title = "tùy chọn"
    parser.add_argument("-h", "--help", action="help", help="hiện hướng dẫn này rồi thoát")
    return parser


def subcommand(commands: argparse._SubParsersAction, name: str, text: str, **kwargs: Any) -> Any:
    """A subcommand whose help, headings included, is in Vietnamese."""
    description = kwargs.pop("description", None) or text[0].upper() + text[1:] + "."
    sub = commands.add_parser(
        name,
        help=text,
        description=description,
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
