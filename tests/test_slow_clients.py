"""Slow clients over real HTTP against gunicorn started with the repo's deploy/gunicorn.conf.py.

Ten clients send one byte every 2 s (five in their headers, five in their body) while signed
webhook events arrive: each event must still be answered within Zalo's 2 seconds. gunicorn's
`timeout` is shortened to 10 s here so that the test also sees the slow clients cut off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from bot.simulator.webhook import signed, user_text_event
from tests.fixtures_zalo import make_config, write_toml

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10
SLOW_CLIENTS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(config_path: Path, port: int, *args: str) -> subprocess.Popen:
    """gunicorn serving webhooks:app with `args`; its log goes to `gunicorn.log` beside."""
    env = {**os.environ, "BOT_CONFIG": str(config_path), "BOT_BIND": f"127.0.0.1:{port}"}
    command = [str(Path(sys.executable).with_name("gunicorn")), *args, "webhooks:app"]
    log = open(config_path.with_name("gunicorn.log"), "wb")  # noqa: SIM115 (closed by the OS)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError("gunicorn did not start")


class SlowClient(threading.Thread):
    """Sends a request one byte every 2 s; notes when the server closed the connection."""

    def __init__(self, port: int, in_body: bool) -> None:
        super().__init__(daemon=True)
        head = (
            "POST /webhooks/zalo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "X-ZEvent-Signature: mac=0\r\nContent-Length: 300\r\n\r\n"
        )
        self.port, self.in_body, self.head = port, in_body, head.encode()
        self.started = 0.0
        self.closed_after: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        self.started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            if self.in_body:
                sock.sendall(self.head)
            payload = b"{" * 300 if self.in_body else self.head
            for byte in payload:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                if self.stop.wait(2.0):
                    return
                if self._closed(sock):
                    break
            self.closed_after = time.monotonic() - self.started

    @staticmethod
    def _closed(sock: socket.socket) -> bool:
        sock.setblocking(False)
        try:
            return sock.recv(1024) == b""  # an answer (4xx) also ends the slow request
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            sock.setblocking(True)


def slow_and_fast(tmp_path, sim, *gunicorn_args: str) -> tuple[list[float], list[SlowClient]]:
    """Start gunicorn, ten slow clients, then time ten signed events; return both."""
    config_path = write_toml(make_config(tmp_path, sim), tmp_path / "config.toml")
    port = free_port()
    process = start_gunicorn(config_path, port, *gunicorn_args)
    base = f"http://127.0.0.1:{port}"
    slow = [SlowClient(port, in_body=n % 2 == 1) for n in range(SLOW_CLIENTS)]
    try:
        wait_ready(base, process)
        for client in slow:
            client.start()
        time.sleep(1.0)
        times = []
        for n in range(10):
            raw, headers = signed(sim.state, user_text_event(sim.state, f"f{n}", "xin chào"))
            started = time.monotonic()
            try:
                response = requests.post(
                    base + "/webhooks/zalo", data=raw, headers=headers, timeout=5
                )
                assert response.status_code == 200
                times.append(time.monotonic() - started)
            except requests.Timeout:
                times.append(float("inf"))
            time.sleep(0.2)
        deadline = time.monotonic() + TIMEOUT + 10
        for client in slow:
            client.join(max(0.0, deadline - time.monotonic()))
        return times, slow
    finally:
        for client in slow:
            client.stop.set()
        process.terminate()
        process.wait(30)


@pytest.mark.slow
def test_slow_clients_neither_block_webhook_requests_nor_stay_forever(tmp_path, sim):
    config = str(ROOT / "deploy" / "gunicorn.conf.py")
    times, slow = slow_and_fast(tmp_path, sim, "-c", config, "--timeout", str(TIMEOUT))
    assert max(times) < 2.0, times  # Zalo's rule: every event answered within 2 s
    cut = [client.closed_after for client in slow]
    assert all(after is not None and after < TIMEOUT + 6 for after in cut), cut
