"""`python -m bot ask` and `python -m bot chat`: the dialogue from a terminal, no Zalo needed.

Both go through `bot.dialogue.respond`, the same code the webhook uses, with the configuration
file if there is one (defaults otherwise) and the knowledge base it names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from bot import config as config_module
from bot.clihelp import subcommand
from bot.dialogue.decide import respond
from bot.dialogue.messages import Button, Turn
from bot.kb.loader import KBError, load_kb
from bot.understanding import Index, build_index

REPO_ROOT = Path(__file__).resolve().parent.parent


def kb_path(configured: str) -> Path:
    """The knowledge base folder: as configured, or relative to the checkout when not found."""
    path = Path(configured)
    if not path.is_absolute() and not path.is_dir() and (REPO_ROOT / path).is_dir():
        return REPO_ROOT / path
    return path


def _setup(args: argparse.Namespace) -> tuple[Index, config_module.Config, bool]:
    """Configuration, matcher index and the buttons setting for a command."""
    config = config_module.load(getattr(args, "config", None))
    index = build_index(load_kb(kb_path(config.bot.knowledge_base)))
    buttons = config.zalo.buttons and not getattr(args, "no_buttons", False)
    return index, config, buttons


def turn_record(question: str, turn: Turn) -> dict[str, Any]:
    """The JSON line of `ask --json` for one message."""
    return {
        "question": question,
        "kind": turn.kind,
        "topic": turn.topic if turn.kind == "answer" else None,
        "section": turn.section if turn.kind == "answer" else None,
        "faq": turn.faq if turn.kind == "answer" else None,
        "candidates": list(turn.candidates),
        "score": round(float(turn.score), 4),
        "reply": "\n\n".join(r.text for r in turn.replies),
    }


def _show(turn: Turn, out: TextIO) -> list[Button]:
    """Print a turn for people; return its buttons (numbered on screen)."""
    shown: list[Button] = []
    for reply in turn.replies:
        print(reply.text, file=out)
        for button in reply.buttons:
            shown.append(button)
            print(f"  [{len(shown)}] {button.title}", file=out)
        print(file=out)
    flags = [name for name in ("unanswered", "handover") if getattr(turn, name)]
    if turn.rating:
        flags.append(f"rating={turn.rating[0]}:{'+' if turn.rating[1] else '-'}")
    print(f"  ({turn.kind}{', ' + ', '.join(flags) if flags else ''})", file=out)
    return shown


def run_ask(
    questions: Iterable[str],
    index: Index,
    settings: config_module.BotConfig,
    *,
    as_json: bool,
    independent: bool,
    buttons: bool,
    out: TextIO,
    now: dt.datetime,
) -> int:
    """Answer each question (one conversation unless `independent`) and print the turns."""
    state: dict[str, Any] = {}
    for line in questions:
        question = line.rstrip("\r\n")
        if not question.strip():
            continue
        turn = respond(question, {} if independent else state, index, now, settings, buttons)
        state = dict(turn.state)
        if as_json:
            print(json.dumps(turn_record(question, turn), ensure_ascii=False), file=out)
        else:
            print(f"> {question}", file=out)
            _show(turn, out)
        out.flush()
    return 0


def _setup_or_report(args: argparse.Namespace) -> tuple[Index, config_module.Config, bool] | None:
    """`_setup`, printing the knowledge base's errors instead of a traceback (None then)."""
    try:
        return _setup(args)
    except KBError as exc:
        print(f"Lỗi cơ sở tri thức: {exc}", file=sys.stderr)
        return None


def _ask_now(day: str | None) -> dt.datetime | None:
    """Now, or noon UTC of `day` (the same calendar day in Việt Nam); None when `day` is bad."""
    if not day:
        return dt.datetime.now(dt.UTC)
    try:
        return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), dt.UTC)
    except ValueError:
        print(
            f"Lỗi: ngày '{day}' không hợp lệ; viết năm-tháng-ngày, ví dụ --date 2027-01-01",
            file=sys.stderr,
        )
        return None


def ask(args: argparse.Namespace) -> int:
    """`ask`: answer one question, or every line of stdin (as of `--date` when given)."""
    now = _ask_now(getattr(args, "date", None))
    if now is None:
        return 2
    ready = _setup_or_report(args)
    if ready is None:
        return 2
    index, config, buttons = ready
    questions = [" ".join(args.question)] if args.question else sys.stdin
    return run_ask(
        questions,
        index,
        config.bot,
        as_json=args.json,
        independent=args.independent,
        buttons=buttons,
        out=sys.stdout,
        now=now,
    )


def chat(args: argparse.Namespace) -> int:
    """`chat`: talk to the bot in the terminal; type a button's number to tap it."""
    ready = _setup_or_report(args)
    if ready is None:
        return 2
    index, config, buttons = ready
    print("Gõ câu hỏi (Ctrl+D để thoát). Gõ số để bấm nút.\n")
    state: dict[str, Any] = {}
    shown: list[Button] = []
    while True:
        try:
            text = input("> ")
        except EOFError:
            print()
            return 0
        if not text.strip():
            continue
        if buttons and text.strip().isdigit() and 1 <= int(text.strip()) <= len(shown):
            text = shown[int(text.strip()) - 1].payload
        turn = respond(text, state, index, dt.datetime.now(dt.UTC), config.bot, buttons)
        state = dict(turn.state)
        shown = _show(turn, sys.stdout)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `ask` and `chat`."""
    p = subcommand(
        subparsers,
        "ask",
        "hỏi thử bot một câu (hoặc mỗi dòng của đầu vào chuẩn)",
        description="Trả lời CÂU_HỎI như bot sẽ trả lời, hoặc mỗi dòng của đầu vào chuẩn là một "
        "tin nhắn. Các dòng là một cuộc trò chuyện, trừ khi có --independent.",
    )
    p.add_argument(
        "question", nargs="*", metavar="CÂU_HỎI", help="câu hỏi (mặc định: đọc đầu vào chuẩn)"
    )
    p.add_argument("--json", action="store_true", help="in mỗi tin nhắn một dòng JSON")
    p.add_argument("--independent", action="store_true", help="mỗi dòng là một cuộc trò chuyện mới")
    p.add_argument(
        "--no-buttons",
        action="store_true",
        help="đánh số các lựa chọn trong câu trả lời, như khi OA không hiện nút",
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="trả lời như vào ngày này (theo quy định có hiệu lực khi đó), ví dụ 2027-01-01",
    )
    p.add_argument(
        "--config", metavar="TỆP", help="tệp cấu hình (mặc định: $BOT_CONFIG hoặc config.toml)"
    )
    p.set_defaults(func=ask)
    c = subcommand(
        subparsers,
        "chat",
        "trò chuyện với bot ngay trong cửa sổ dòng lệnh này",
        description="Trò chuyện với bot; gõ số của một nút để bấm nút đó.",
    )
    c.add_argument(
        "--no-buttons",
        action="store_true",
        help="đánh số các lựa chọn trong câu trả lời, như khi OA không hiện nút",
    )
    c.add_argument(
        "--config", metavar="TỆP", help="tệp cấu hình (mặc định: $BOT_CONFIG hoặc config.toml)"
    )
    c.set_defaults(func=chat)
