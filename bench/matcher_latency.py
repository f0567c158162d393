"""Per-message latency of normalise + match + dialogue, at the shipped size and at 2,000 topics.

Usage: .venv/bin/python bench/matcher_latency.py [--kb knowledge_base] [--topics 2000]

The synthetic knowledge base repeats the shipped topics with fresh ids, replaces one word of
every phrasing and adds two made-up syllables per topic, so terms are shared across topics the
way real ones are. Messages are the shipped phrasings, the same without diacritics, and a few
questions about other things; each goes through `bot.dialogue.respond` with an empty state.
Prints p50/p99 in milliseconds (wall clock, and CPU time of the thread), index build time and
the memory the index holds (tracemalloc).
Target: p99 under 5 ms at 2,000 topics on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_accuracy import strip_diacritics  # noqa: E402
from bot.config import BotConfig  # noqa: E402
from bot.dialogue import respond  # noqa: E402
from bot.kb.loader import load_kb  # noqa: E402
from bot.kb.model import KnowledgeBase  # noqa: E402
from bot.understanding import build_index  # noqa: E402

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
OTHER = (
    "giá vàng hôm nay",
    "thời tiết ngày mai",
    "mua điện thoại ở đâu rẻ",
    "tỉ số bóng đá",
    "quán phở ngon ở tây hồ",
    "lịch chiếu phim cuối tuần",
    "cách nấu bún chả",
)
ONSETS = "b c d g h k l m n p s t v x ch kh nh ph th tr ng".split()
RHYMES = "a ai an ang anh ao e em en eo i im in inh o oc oi om on ong u ui um un ung uyen".split()


def synthetic(kb: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """`kb` grown to `size` topics by varied copies of its topics."""
    rng = random.Random(seed)
    base = list(kb.topics.values())
    topics = {}
    for n in range(size):
        topic = base[n % len(base)]
        if n < len(base):
            topics[topic.id] = topic
            continue
        name = " ".join(rng.choice(ONSETS) + rng.choice(RHYMES) for _ in range(2))
        questions = []
        for q in topic.questions:
            words = q.split()
            words[rng.randrange(len(words))] = name
            questions.append(" ".join(words))
        tid = f"{topic.id}-{n}"
        topics[tid] = dataclasses.replace(
            topic, id=tid, title=f"{topic.title} {name}", questions=tuple(questions)
        )
    return dataclasses.replace(kb, topics=MappingProxyType(topics))


def measure(kb: KnowledgeBase, messages: list[str], rounds: int) -> dict[str, float]:
    """Build the index (timed, memory traced) and time every message `rounds` times."""
    gc.collect()
    started = time.perf_counter()
    index = build_index(kb)
    build = time.perf_counter() - started
    del index
    gc.collect()
    tracemalloc.start()
    index = build_index(kb)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    settings = BotConfig()
    times, cpu = [], []
    for _ in range(rounds):
        for message in messages:
            t0, c0 = time.perf_counter(), time.thread_time()
            respond(message, {}, index, NOW, settings)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
    times.sort()
    cpu.sort()
    return {
        "topics": len(kb.topics),
        "messages": len(times),
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
        "max_ms": times[-1] * 1000,
        "cpu_p50_ms": statistics.median(cpu) * 1000,
        "cpu_p99_ms": cpu[int(len(cpu) * 0.99) - 1] * 1000,
        "build_s": build,
        "index_mb": memory / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sizes and print the figures; exit 1 when CPU p99 at the large size is >= 5 ms.

    CPU time (this thread's) is the target measure, as it does not count time the process
    waited for a core on a busy machine; wall-clock figures are printed beside it.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=str(ROOT / "knowledge_base"))
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    kb = load_kb(args.kb)
    phrasings = [q for t in kb.topics.values() for q in t.questions]
    messages = phrasings + [strip_diacritics(q) for q in phrasings] + list(OTHER)
    result = None
    for size_kb in (kb, synthetic(kb, args.topics)):
        result = measure(size_kb, messages, args.rounds)
        print(
            f"{result['topics']:>5} topics: wall p50 {result['p50_ms']:.2f} ms  "
            f"p99 {result['p99_ms']:.2f} ms  max {result['max_ms']:.2f} ms; "
            f"CPU p50 {result['cpu_p50_ms']:.2f} ms  p99 {result['cpu_p99_ms']:.2f} ms  "
            f"({result['messages']} messages)  index build {result['build_s']:.2f} s, "
            f"{result['index_mb']:.1f} MB"
        )
    ok = result is not None and result["cpu_p99_ms"] < 5.0
    print(f"target p99 < 5 ms at {args.topics} topics: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
