"""The webhook benchmark's load: signed Zalo events (or bare POSTs) from client processes, each
over one keep-alive connection, as fast as answered (closed loop) or at a set rate (open loop)."""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import time

from bot.zalo.signature import sign

APP_ID = "1234567890123456789"
OA_ID = "388613280878808645"
QUESTIONS = [
    "Cho hỏi thủ tục khai sinh",
    "lam giay khai sinh can gi",
    "đăng ký tạm trú ở đâu",
    "xin chào",
    "kết hôn cần giấy tờ gì",
    "cảm ơn",
    "chứng thực bản sao mất bao lâu",
    "thường trú cho con",
]


DISTINCT = False
"""With --distinct every message differs (a number at the end): no message embedding is reused."""


def question(n: int) -> str:
    """The text of the `n`th event: the mix above, each repeated, or made distinct."""
    text = QUESTIONS[n % len(QUESTIONS)]
    return f"{text} {n}" if DISTINCT else text


def client_run(job: tuple) -> tuple[list[float], collections.Counter, float, float, dict]:
    """One load process: send its events over one keep-alive connection; return latencies,
    statuses, start and end times and, per message id, when it was (to be) sent."""
    port, path, secret, start, count, signed_events, interval = job
    requests_to_send = []
    for n in range(start, start + count):  # built and signed before the clock starts
        if signed_events:
            body = {
                "app_id": APP_ID,
                "user_id_by_app": f"app{n}",
                "event_name": "user_send_text",
                "sender": {"id": f"7{n % 500:017d}"},
                "recipient": {"id": OA_ID},
                "message": {"msg_id": f"bench{n:015d}", "text": question(n)},
                "timestamp": str(int(time.time() * 1000)),
            }
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            mac = sign(APP_ID, raw, body["timestamp"], secret)
            headers = {"Content-Type": "application/json", "X-ZEvent-Signature": "mac=" + mac}
        else:
            raw, headers = b"{}", {"Content-Type": "application/json"}
        requests_to_send.append((f"bench{n:015d}", raw, headers))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, statuses, sent_at = [], collections.Counter(), {}
    barrier.wait(60)
    first = time.time()
    origin = time.perf_counter()
    for i, (msg_id, raw, headers) in enumerate(requests_to_send):
        began = time.perf_counter()
        if interval:  # open loop: latency counts from the scheduled time (no omission)
            scheduled = origin + i * interval
            if scheduled > began:
                time.sleep(scheduled - began)
            began = scheduled
        sent_at[msg_id] = first + (began - origin)
        try:
            conn.request("POST", path, body=raw, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status = 0
        latencies.append(time.perf_counter() - began)
        statuses[status] += 1
    return latencies, statuses, first, time.time(), sent_at


barrier = None


def _set_barrier(shared: object) -> None:
    global barrier
    barrier = shared


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted `values` lie (nan when empty)."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, int(len(values) * fraction + 0.5) - 1))]


def drive(port: int, path: str, secret: str, load: argparse.Namespace, signed: bool, offset: int):
    """Send `load.events` events from `load.clients` processes (open loop at `load.rate`)."""
    per = load.events // load.clients
    interval = load.clients / load.rate if load.rate else 0.0
    jobs = [
        (port, path, secret, offset + i * per, per, signed, interval) for i in range(load.clients)
    ]
    shared = multiprocessing.Barrier(load.clients)
    with multiprocessing.Pool(load.clients, initializer=_set_barrier, initargs=(shared,)) as pool:
        results = pool.map(client_run, jobs)
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    latencies = sorted(x for r in results for x in r[0])
    statuses: collections.Counter = collections.Counter()
    sent_at: dict[str, float] = {}
    for r in results:
        statuses.update(r[1])
        sent_at.update(r[4])
    return {
        "events": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "statuses": dict(statuses),
        "sent_at": sent_at,
    }
