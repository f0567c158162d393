"""The command line: every command is documented and bad usage is a clear message."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _commands(parser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), helps.get(name), sub
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(build_parser()))


def test_the_documented_commands_exist():
    names = {" ".join(path) for path, _, _ in COMMANDS}
    expected = {
        "ask",
        "chat",
        "kb check",
        "kb list",
        "broadcast create",
        "broadcast list",
        "broadcast show",
        "broadcast cancel",
        "dossiers import",
        "admin create-user",
        "run-local",
        "simulator",
    }
    assert expected <= names, expected - names


@pytest.mark.parametrize("path,help_text,sub", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_every_command_has_help(path, help_text, sub):
    assert help_text, f"'{' '.join(path)}' has no help line"
    assert sub.format_help().strip()


def test_unknown_command_is_a_usage_error_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "no-such-command"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "lựa chọn không hợp lệ: 'no-such-command'" in result.stderr
    assert "Traceback" not in result.stderr


ENGLISH = re.compile(r"\b(the|and|or|of|to|with|when|default|usage|options|error)\b", re.I)


@pytest.mark.parametrize("path,help_text,sub", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_every_help_text_is_in_vietnamese(path, help_text, sub):
    shown = sub.format_help()
    assert shown.startswith("Cách dùng:"), shown[:40]
    for action in sub._actions:
        if action.help and action.help != argparse.SUPPRESS:
            words = re.sub(r"\[[^]]*\]|\$\w+|--[\w-]+|\w+\.toml", "", action.help)
            assert not ENGLISH.search(words), f"{' '.join(path)} {action.dest}: {action.help}"
    assert not ENGLISH.search(help_text), help_text


def test_a_usage_error_is_explained_in_vietnamese():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--date"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "lỗi: tham số --date: cần một giá trị" in result.stderr
