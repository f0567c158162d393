"""`python -m bot kb check` and `python -m bot kb list [--json]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from bot import config as config_module
from bot.clihelp import group, subcommand
from bot.kb.check import check_kb
from bot.kb.loader import read_kb
from bot.kb.model import ANSWER_SECTIONS, Topic

LISTED_SECTIONS = (*ANSWER_SECTIONS, "steps", "notes")
EXPECTATIONS = "kiem-thu.toml"
"""Staff's own file of questions and where each must lead, in the knowledge-base folder."""
EXPECTATIONS_HELP = f"""Tệp {EXPECTATIONS} (trong thư mục cơ sở tri thức), mỗi câu hỏi một mục:

  [[case]]
  question = "chết thì báo ở đâu"
  topic = "khai-tu"            # chủ đề bot phải trả lời
  # faq = "mã-câu-hỏi"         # tùy chọn: câu hỏi thường gặp phải trả lời
  # outcome = "fallback"       # tùy chọn: bot phải nói chưa hiểu (câu ngoài phạm vi)

`kb check` cũng chạy tệp này khi có."""


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `kb check`, `kb list` and `kb test`."""
    _, commands = group(subparsers, "kb", "kiểm tra, liệt kê hoặc kiểm thử cơ sở tri thức")
    check = subcommand(
        commands, "check", "kiểm tra mọi tệp của cơ sở tri thức; mã thoát 1 khi có lỗi"
    )
    _path_argument(check)
    check.add_argument(
        "--max-age-days",
        type=int,
        default=None,
        metavar="SỐ_NGÀY",
        help="cảnh báo chủ đề có ngày rà soát (reviewed) cũ hơn số ngày này "
        "(mặc định: theo cấu hình, 365)",
    )
    check.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        metavar="NGÀY",
        help="ngày dùng để tính tuổi rà soát, dạng 2026-12-31 (mặc định: hôm nay)",
    )
    check.add_argument(
        "--no-self-test",
        action="store_true",
        help="bỏ qua bước thử từng cách hỏi của chủ đề và tệp câu hỏi kiểm thử",
    )
    check.set_defaults(func=run_check)

    listing = subcommand(commands, "list", "liệt kê các chủ đề (bảng, hoặc mỗi dòng một JSON)")
    _path_argument(listing)
    listing.add_argument("--json", action="store_true", help="mỗi chủ đề một dòng JSON")
    listing.set_defaults(func=run_list)

    test = subcommand(
        commands,
        "test",
        f"chạy tệp câu hỏi kiểm thử của cán bộ ({EXPECTATIONS}): mỗi câu hỏi phải dẫn tới "
        "đúng chủ đề hoặc câu hỏi thường gặp; mã thoát 1 khi có câu sai",
        epilog=EXPECTATIONS_HELP,
    )
    _path_argument(test)
    test.add_argument("--file", default=None, metavar="TỆP", help=f"tệp khác {EXPECTATIONS}")
    test.set_defaults(func=run_test)


def _path_argument(parser: argparse.ArgumentParser) -> None:
    """The shared `--path` option."""
    parser.add_argument(
        "--path",
        default=None,
        metavar="THƯ_MỤC",
        help="thư mục cơ sở tri thức (mặc định: bot.knowledge_base trong cấu hình)",
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
    if self_test and not errors and (path / EXPECTATIONS).is_file():
        errors += _run_expectations(path, path / EXPECTATIONS)
    warnings = len(problems) - sum(p.severity == "error" for p in problems)
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


def read_cases(file: Path) -> list[dict[str, str]]:
    """The `[[case]]` entries of a staff expectations file; ValueError names what is wrong."""
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{file}: không đọc được tệp ({exc.strerror or exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file}: tệp không đúng cú pháp TOML ({exc}).") from None
    cases = data.get("case", [])
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not isinstance(case.get("question"), str):
            raise ValueError(f"{file}: mục [[case]] thứ {number} thiếu “question”.")
        if not any(isinstance(case.get(k), str) for k in ("topic", "faq", "outcome")):
            raise ValueError(
                f"{file}: mục [[case]] thứ {number} cần “topic”, “faq” hoặc “outcome”."
            )
    return cases


def expectation_failures(index: Any, cases: list[dict[str, str]]) -> list[str]:
    """One line per case the matcher does not answer as expected."""
    failures = []
    for case in cases:
        match = index.match(case["question"])
        got = {"outcome": match.outcome, "topic": match.topic, "faq": getattr(match, "faq", None)}
        wanted = {"outcome": case.get("outcome", "answer")}
        wanted.update({k: case[k] for k in ("topic", "faq") if k in case})
        wrong = {k: v for k, v in wanted.items() if got[k] != v}
        if wrong:
            said = ", ".join(f"{k}={got[k]!r} (cần {v!r})" for k, v in wrong.items())
            failures.append(f"“{case['question']}”: {said}")
    return failures


def _run_expectations(path: Path, file: Path) -> int:
    """Run the cases of `file` against the knowledge base at `path`; return how many failed."""
    from bot.understanding import build_index  # noqa: PLC0415 - slow to import, only when testing

    kb, problems = read_kb(path)
    if any(p.severity == "error" for p in problems):
        print("Cơ sở tri thức đang có lỗi: chạy 'python -m bot kb check' trước.", file=sys.stderr)
        return 1
    cases = read_cases(file)
    failures = expectation_failures(build_index(kb), cases)
    for line in failures:
        print(f"{file.name}: SAI: {line}")
    print(f"{file.name}: {len(cases) - len(failures)}/{len(cases)} câu hỏi kiểm thử đúng.")
    return len(failures)


def run_test(args: argparse.Namespace) -> int:
    """`kb test`: exit 1 when a case fails, 2 when the file is missing or malformed."""
    path, _ = _settings(args)
    file = Path(args.file) if args.file else path / EXPECTATIONS
    if not file.is_file():
        print(f"Lỗi: không có tệp {file}.\n\n{EXPECTATIONS_HELP}", file=sys.stderr)
        return 2
    try:
        return 1 if _run_expectations(path, file) else 0
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
