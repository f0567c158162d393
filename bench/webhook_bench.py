"""Webhook benchmark: signed Zalo events at `gunicorn webhooks:app` on loopback, beside bare Flask.

Starts the Zalo simulator, the webhook under gunicorn, and the outbox sender (`python -m bot
sender`) on a temporary SQLite file and the shipped knowledge base; drives `--events` signed
`user_send_text` events from `--clients` processes (one keep-alive connection each, closed
loop); prints events/s and p50/p99 latency; waits for the outbox to drain and checks against
the simulator's record that every reply was delivered exactly once. Then it measures a bare
Flask "hello" app under the same gunicorn settings and load.

    .venv/bin/python bench/webhook_bench.py [--events 5000] [--clients 4] [--workers 3] [--no-echo]
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import storage  # noqa: E402
from bot.config import load  # noqa: E402
from bot.outbox import message_parts  # noqa: E402
from bot.simulator import start_simulator  # noqa: E402
from bot.zalo import sign  # noqa: E402

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory: Path, sim_url: str, secret: str, app_secret: str, rt: str) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""[zalo]
app_id = "{APP_ID}"
oa_id = "{OA_ID}"
oa_secret_key = "{secret}"
app_secret = "{app_secret}"
refresh_token = "{rt}"
api_base_url = "{sim_url}"
oauth_base_url = "{sim_url}"
timeout_seconds = 5.0
signature_try_oa_id = false

[storage]
database = "{(directory / "bot.db").as_posix()}"

[bot]
knowledge_base = "{(ROOT / "knowledge_base").as_posix()}"

[outbox]
poll_seconds = 0.05
workers = 2
""",
        encoding="utf-8",
    )
    return path


def gunicorn(app: str, port: int, args: argparse.Namespace, env: dict) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
        app,
    ]
    return subprocess.Popen(command, cwd=str(ROOT), env=env)


def wait_ready(port: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def client_run(job: tuple) -> tuple[list[float], collections.Counter, float, float]:
    """One load process: send its events over one keep-alive connection; return latencies."""
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
                "message": {"msg_id": f"bench{n:015d}", "text": QUESTIONS[n % len(QUESTIONS)]},
                "timestamp": str(int(time.time() * 1000)),
            }
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            mac = sign(APP_ID, raw, body["timestamp"], secret)
            headers = {"Content-Type": "application/json", "X-ZEvent-Signature": "mac=" + mac}
        else:
            raw, headers = b"{}", {"Content-Type": "application/json"}
        requests_to_send.append((raw, headers))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, statuses = [], collections.Counter()
    barrier.wait(60)
    first = time.time()
    origin = time.perf_counter()
    for i, (raw, headers) in enumerate(requests_to_send):
        began = time.perf_counter()
        if interval:  # open loop: latency counts from the scheduled time (no omission)
            scheduled = origin + i * interval
            if scheduled > began:
                time.sleep(scheduled - began)
            began = scheduled
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
    return latencies, statuses, first, time.time()


barrier = None


def _set_barrier(shared: object) -> None:
    global barrier
    barrier = shared


def drive(port: int, path: str, secret: str, args: argparse.Namespace, signed: bool, offset: int):
    per = args.events // args.clients
    interval = args.clients / args.rate if args.rate else 0.0
    jobs = [
        (port, path, secret, offset + i * per, per, signed, interval) for i in range(args.clients)
    ]
    shared = multiprocessing.Barrier(args.clients)
    with multiprocessing.Pool(args.clients, initializer=_set_barrier, initargs=(shared,)) as pool:
        results = pool.map(client_run, jobs)
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    latencies = sorted(x for r in results for x in r[0])
    statuses: collections.Counter = collections.Counter()
    for r in results:
        statuses.update(r[1])
    return {
        "events": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": dict(statuses),
    }


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU of a process and (optionally) its direct children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        if children:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids += [int(c) for c in kids]
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError):
        pass
    return total


def check_delivery(config_path: Path, sim, timeout: float, since: float = 0.0) -> dict:
    config = load(config_path)
    db = storage.connect(config.storage.database)
    deadline = time.monotonic() + timeout
    pending = -1
    while time.monotonic() < deadline:
        pending = db.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()[0]
        if pending == 0:
            break
        time.sleep(0.2)
    wanted: collections.Counter = collections.Counter()
    for row in db.query("SELECT user_id, payload FROM outbox"):
        for text, _ in message_parts(json.loads(row["payload"]), config.zalo.buttons):
            wanted[(row["user_id"], text)] += 1
    got = collections.Counter((m["user_id"], m["text"]) for m in sim.delivered())
    rows = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    delays = sorted(
        r[0]
        for r in db.execute(
            "SELECT sent_at - created_at FROM outbox WHERE sent_at IS NOT NULL AND created_at >= ?",
            [since],
        )
    ) or [float("nan")]
    inbound = db.execute(
        "SELECT count(*) FROM inbound_events WHERE event_name = 'user_send_text'"
    ).fetchone()[0]
    return {
        "inbound": inbound,
        "replies": rows,
        "sends_expected": sum(wanted.values()),
        "sends_delivered": sum(got.values()),
        "missing": sum((wanted - got).values()),
        "duplicates": sum((got - wanted).values()),
        "pending": pending,
        "delay_p50": delays[len(delays) // 2],
        "delay_p99": delays[int(len(delays) * 0.99) - 1] if len(delays) > 1 else delays[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4, help="load processes (connections)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="open loop at this many events/s (0: closed loop)"
    )
    parser.add_argument("--no-echo", action="store_true", help="simulator posts no oa_send echoes")
    parser.add_argument(
        "--deliver-after", action="store_true", help="start the sender only after the load"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    secret, app_secret, rt = (secrets.token_urlsafe(16) for _ in range(3))
    sim = start_simulator(
        app_id=APP_ID,
        oa_secret_key=secret,
        oa_id=OA_ID,
        app_secret=app_secret,
        refresh_token=rt,
        echo=not args.no_echo,
    )
    config_path = write_config(work, sim.url, secret, app_secret, rt)
    env = {**os.environ, "BOT_CONFIG": str(config_path), "PYTHONPATH": str(ROOT)}
    port, hello_port = free_port(), free_port()
    webhook_path = "/webhooks/zalo"
    sim.set_webhook(f"http://127.0.0.1:{port}{webhook_path}")
    processes = []
    try:
        web = gunicorn("webhooks:app", port, args, env)
        processes.append(web)
        wait_ready(port, "/healthz")

        def start_sender() -> None:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "sender"],
                    cwd=str(ROOT),
                    env=env,
                    stderr=open(work / "sender.log", "ab"),  # noqa: SIM115
                )
            )

        if not args.deliver_after:
            start_sender()
        warm = argparse.Namespace(**{**vars(args), "events": args.warmup, "rate": 0.0})
        drive(port, webhook_path, secret, warm, True, 10_000_000)
        if not args.deliver_after:
            check_delivery(config_path, sim, timeout=60)  # start from an empty queue
            time.sleep(1.0)  # and let the warm-up's echoes land
        measured_from = time.time()
        bot = drive(port, webhook_path, secret, args, True, 0)
        if args.deliver_after:
            start_sender()
        delivery = check_delivery(config_path, sim, timeout=120, since=measured_from)
        cpu = {
            "webhook (gunicorn)": cpu_seconds(web.pid),
            "sender": cpu_seconds(processes[1].pid),
            "simulator (bench process)": cpu_seconds(os.getpid(), children=False),
        }

        hello = gunicorn("bench.hello_app:app", hello_port, args, env)
        processes.append(hello)
        wait_ready(hello_port, "/")
        drive(hello_port, "/", secret, warm, False, 0)
        bare = drive(hello_port, "/", secret, args, False, 0)
    finally:
        sim.set_webhook("")  # echoes still queued are dropped, not posted to a stopped server
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(15)
        sim.stop()

    workers = f"gunicorn {args.worker_class} {args.workers} workers x {args.threads} threads"
    print(f"\nmachine: {os.cpu_count()} CPU(s); {workers}")
    loop = f"open loop at {args.rate:.0f} events/s" if args.rate else "closed loop"
    print(f"load: {args.events} events, {args.clients} keep-alive client processes, {loop}")
    print(f"echo events from the simulator: {'off' if args.no_echo else 'on'}\n")
    print(f"{'':22}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for name, r in (("webhook (signed, DB)", bot), ("bare Flask hello", bare)):
        print(f"{name:22}{r['rate']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}  {r['statuses']}")
    total_events = args.events + args.warmup
    print("\nCPU per citizen event (whole run incl. warm-up and draining):")
    for name, seconds in cpu.items():
        print(f"  {name:28}{seconds * 1000 / total_events:6.2f} ms")
    d = delivery
    print(
        f"\nreplies: {d['replies']} queued for {d['inbound']} citizen events (incl. warm-up); "
        f"{d['sends_delivered']}/{d['sends_expected']} sends delivered, "
        f"{d['missing']} missing, {d['duplicates']} duplicated, {d['pending']} still pending"
    )
    print(
        "delivery delay of the measured replies (queued -> accepted by Zalo): "
        f"p50 {d['delay_p50'] * 1000:.0f} ms, p99 {d['delay_p99'] * 1000:.0f} ms"
    )
    ok = (
        d["missing"] == 0
        and d["duplicates"] == 0
        and bot["rate"] >= (0.97 * args.rate if args.rate else 500)
        and bot["p99"] < 50
        and set(bot["statuses"]) == {200}
    )
    rate = f"sustain {args.rate:.0f} events/s" if args.rate else ">= 500 events/s"
    print(f"target ({rate}, p99 < 50 ms, every reply exactly once):", "MET" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
