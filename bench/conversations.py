"""Follow-ups in a conversation: does the second message stay on the topic, switch when it
names another procedure, and get the FAQ entry or section it asks?

Usage: .venv/bin/python bench/conversations.py [CONVERSATIONS.tsv] [--misses]

Each row of the TSV (default `bench/questions/conversations.tsv`) is a conversation of two
messages through `bot.dialogue.decide.respond`, as a citizen types them: `first`, `follow`,
the `topic` the follow-up should be answered with (empty: it should not be answered with any
topic, but offered choices or a fallback) and, optionally, `answer`: `faq:<id>` (that entry
must answer) or `section` (a section, not an entry). Each follow-up is also sent without
diacritics. Prints, per typing, how many follow-ups got the expected topic and how many the
expected entry or section.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import strip_diacritics  # noqa: E402
from bot.config import BotConfig  # noqa: E402
from bot.dialogue.decide import respond  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.understanding import build_index  # noqa: E402

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
DEFAULT = ROOT / "bench" / "questions" / "conversations.tsv"


def follow_up(index, first: str, follow: str):
    """The bot's turn for `follow` after `first`."""
    turn = respond(first, {}, index, NOW, BotConfig())
    return respond(follow, dict(turn.state or {}), index, NOW, BotConfig())


def verdict(turn, topic: str, answer: str) -> tuple[bool, bool]:
    """(topic as expected, entry or section as expected)."""
    if not topic:
        right = turn.kind != "answer"
        return right, right
    right = turn.kind == "answer" and turn.topic == topic
    if answer.startswith("faq:"):
        return right, right and turn.faq == answer[4:]
    if answer == "section":
        return right, right and turn.faq is None and turn.section is not None
    return right, right


def main(argv: list[str] | None = None) -> int:
    """Run every conversation typed both ways and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    with open(args.path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    index = build_index(load_kb(ROOT / "knowledge_base"))
    for label, typed in (("as typed", lambda t: t), ("no diacritics", strip_diacritics)):
        topics = answers = 0
        for row in rows:
            turn = follow_up(index, row["first"], typed(row["follow"]))
            on_topic, answered = verdict(turn, row["topic"], row.get("answer") or "")
            topics += on_topic
            answers += answered
            if args.misses and not answered:
                want = f"{row['topic'] or 'no answer'} {row.get('answer') or ''}"
                got = f"{turn.kind} {turn.topic} {turn.section} {turn.faq}"
                print(f"    {row['first']} | {typed(row['follow'])}: want {want}, got {got}")
        n = len(rows)
        print(
            f"{label:>14}: topic as expected {topics}/{n} ({topics / n:.1%}), "
            f"entry or section as expected {answers}/{n} ({answers / n:.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
