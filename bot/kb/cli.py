"""`python -m bot kb check` and `python -m bot kb list [--json]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from bot import config as config_module
from bot.kb.check import check_kb
from bot.kb.loader import read_kb
from bot.kb.model import ANSWER_SECTIONS, Topic

LISTED_SECTIONS = (*ANSWER_SECTIONS, "steps", "notes")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `kb check` and `kb list`."""
    kb = subparsers.add_parser("kb", help="check or list the knowledge base")
    commands = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb.set_defaults(func=lambda args: kb.print_help() or 2)

    check = commands.add_parser(
        "check", help="validate every knowledge-base file; exit 1 on any error"
    )
    _path_argument(check)
    check.add_argument(
        "--max-age-days",
        type=int,
        default=None,
        help="warn when a topic's 'reviewed' date is older than this (default: config, 365)",
    )
    check.add_argument(
        "--today", type=dt.date.fromisoformat, default=None, help="date to check review ages on"
    )
    check.add_argument(
        "--no-self-test", action="store_true", help="skip matching each topic's own phrasings"
    )
    check.set_defaults(func=run_check)

    listing = commands.add_parser("list", help="list the topics (a table, or JSON lines)")
    _path_argument(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per topic per line")
    listing.set_defaults(func=run_list)


def _path_argument(parser: argparse.ArgumentParser) -> None:
    """The shared `--path` option."""
    parser.add_argument(
        "--path", default=None, help="knowledge-base folder (default: bot.knowledge_base in config)"
    )


def _settings(args: argparse.Namespace) -> tuple[Path, int]:
    """The knowledge-base folder and review age from the arguments, else the config."""
    settings = config_module.load().bot
    path = Path(args.path or settings.knowledge_base)
    max_age = getattr(args, "max_age_days", None)
    return path, settings.review_max_age_days if max_age is None else max_age


def run_check(args: argparse.Namespace) -> int:
    """Print every problem as `file:line: message`, then a summary; 1 when there is an error."""
    path, max_age = _settings(args)
    self_test = not args.no_self_test
    problems = check_kb(path, max_age, args.today, self_test=self_test)
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    topics = len(list((path / "topics").glob("*.toml"))) if (path / "topics").is_dir() else 0
    verdict = "KHÔNG ĐẠT" if errors else "ĐẠT"
    print(f"{verdict}: {path}: {topics} chủ đề, {errors} lỗi, {warnings} cảnh báo.")
    return 1 if errors else 0


def topic_summary(topic: Topic) -> dict:
    """The JSON form of a topic for `kb list --json`."""
    return {
        "id": topic.id,
        "title": topic.title,
        "category": topic.category,
        "reviewed": topic.reviewed.isoformat(),
        "sources": list(topic.sources),
        "sections": [s for s in LISTED_SECTIONS if topic.has_section(s)],
        "not_applicable": sorted(topic.not_applicable),
        "questions": len(topic.questions),
        "path": topic.path,
    }


def run_list(args: argparse.Namespace) -> int:
    """Print the topics that load; problems are left to `kb check` (a count goes to stderr)."""
    path, _ = _settings(args)
    kb, problems = read_kb(path)
    rows = [topic_summary(t) for t in sorted(kb.topics.values(), key=lambda t: t.id)]
    try:
        _print_rows(rows, as_json=args.json)
    except BrokenPipeError:  # `kb list | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        print(f"{errors} lỗi: chạy 'python -m bot kb check' để xem chi tiết", file=sys.stderr)
    return 1 if errors else 0


def _print_rows(rows: list[dict], as_json: bool) -> None:
    """Topic rows as JSON lines or as a table."""
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        print(f"{'id':<30} {'reviewed':<10} {'câu':>4}  {'mục có nội dung':<40} title")
        for row in rows:
            sections = ",".join(row["sections"])
            print(
                f"{row['id']:<30} {row['reviewed']:<10} {row['questions']:>4}  "
                f"{sections:<40} {row['title']}"
            )
