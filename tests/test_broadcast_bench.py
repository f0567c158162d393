"""The broadcast benchmark stays runnable: a small run proves exactly-once and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_small_and_proves_exactly_once():
    result = subprocess.run(
        [
            sys.executable,
            "bench/broadcast_bench.py",
            "--followers",
            "300",
            "--workers",
            "2",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["exactly_once"] is True
    assert figures["recipients_with_one_message"] == 300
    assert figures["sent_before_restart"] + figures["sent_after_restart"] == 300
