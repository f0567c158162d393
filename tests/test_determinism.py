"""The same message gets the same turn in every process: nothing the bot decides may depend on
Python's hash seed (the order a set of words is walked in), which differs per process, so
two workers or a restart would otherwise answer one question two ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MESSAGES = [
    "có phải về phường nơi ở không",  # its menu depended on the seed (ties among topics)
    "đăng ký tạm trú cần giấy tờ gì",
    "lam the can cuoc cho be 3 tuoi dc ko",
    "bố mẹ có cần đi cùng không",
    "nhà tôi bị mất điện",
    "Bố tôi năm nay 78 tuổi, không có lương hưu. Xin hỏi thủ tục trợ cấp làm thế nào?",
]


def _turns(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--independent", "--json"],
        input="\n".join(MESSAGES),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_the_same_message_gets_the_same_turn_whatever_the_hash_seed() -> None:
    first = _turns("0")
    assert first.count("\n") == len(MESSAGES)
    assert _turns("2") == first
