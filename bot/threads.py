"""Background threads that stay real OS threads, also inside a gevent-patched process.

The webhook runs under gunicorn's gevent worker, which turns `threading` into greenlets: a
greenlet that spends seconds of CPU (building the matcher index) would stop every request of
that worker meanwhile. A real thread only shares the interpreter lock, which Python hands over
every few milliseconds, so requests keep being answered while it works.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def _original(module: str, name: str) -> Any:
    """`module.name` as it was before gevent patched it (as it is when gevent did not)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched(module):
        return monkey.get_original(module, name)
    return getattr(__import__(module), name)


def start_real_thread(target: Callable[[], None]) -> None:
    """Run `target` in a new OS thread (a daemon: it ends with the process)."""
    _original("_thread", "start_new_thread")(target, ())


def real_sleep(seconds: float) -> None:
    """Sleep the calling OS thread (use only in a thread from `start_real_thread`)."""
    _original("time", "sleep")(seconds)


def wait_until(done: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll `done` until it is true or `timeout` passes; cooperative under gevent."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)  # gevent's sleep in a greenlet, the real one in a thread
    return True


NICENESS = 10
"""How much lower than the webhook's the CPU priority of the scheduler's turn and delivery
threads is (Linux: per thread). When both want the CPU (a burst on a 2-core machine), the
webhook acknowledges first and the turns catch up: bench/webhook_bench.py --lexical, closed
loop, 2 cores: webhook / bare Flask 0.18 at equal priority, 0.35 with the turns at +10."""


def lower_priority() -> None:
    """Lower the calling thread's CPU priority by NICENESS (where the OS allows it)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: equal priority then
        pass


def start_daemons(target: Callable[[], None], count: int, name: str) -> list[threading.Thread]:
    """`count` daemon threads running `target`, named `name-0`, `name-1`..., started."""
    threads = [
        threading.Thread(target=target, name=f"{name}-{number}", daemon=True)
        for number in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads


def join_all(threads: list[threading.Thread], timeout: float) -> None:
    """Wait for each of `threads` (at most `timeout` seconds each)."""
    for thread in threads:
        thread.join(timeout)
