"""Webhook benchmark: signed Zalo events at `gunicorn webhooks:app` on loopback, beside bare Flask.

Starts the Zalo simulator, the webhook under gunicorn and the scheduler (`python scheduler.py`:
the turn worker and the outbox delivery) on a temporary SQLite file and the shipped knowledge
base, as an office runs them. Then, in one run:

1. open loop: `--rate` events/s for `--seconds` (distinct citizens' `user_send_text`), and the
   delay from each event's sending to its last reply accepted by Zalo (the simulator);
2. closed loop: `--events` signed events from `--clients` processes (one keep-alive connection
   each) as fast as the webhook acknowledges them: events/s and p50/p99 of the acknowledgement;
3. the same closed loop against a bare Flask "hello" app under the same gunicorn settings.

Finally it waits for every turn to be answered and the outbox to drain, and checks against the
simulator's record that every reply was delivered exactly once. Targets are printed, not
asserted by tests.

    .venv/bin/python bench/webhook_bench.py [--rate 100] [--seconds 20] [--events 3000]
        [--clients 4] [--workers 3] [--worker-class gevent] [--lexical] [--no-echo]
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
from bot.outbox.delivery import message_parts  # noqa: E402
from bot.simulator import start_simulator  # noqa: E402
from bot.zalo.signature import sign  # noqa: E402

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


def drained(db, timeout: float) -> bool:
    """Wait until every recorded event is answered and every queued reply sent or ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = db.execute(
            "SELECT (SELECT count(*) FROM inbound_events WHERE status = 'pending') + "
            "(SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))"
        ).fetchone()[0]
        if pending == 0:
            return True
        time.sleep(0.2)
    return False


def reply_delays(db, sent_at: dict[str, float]) -> list[float]:
    """Seconds from each event's sending to its last reply accepted by Zalo (sorted)."""
    rows = db.execute(
        "SELECT e.msg_id, max(o.sent_at), count(o.id), count(o.sent_at) FROM inbound_events e "
        "LEFT JOIN outbox o ON o.source = 'reply' AND o.source_id = CAST(e.id AS TEXT) "
        "WHERE e.event_name = 'user_send_text' GROUP BY e.id"
    )
    delays = []
    for msg_id, last_sent, replies, sent in rows:
        if msg_id in sent_at:
            done = replies > 0 and replies == sent
            delays.append(last_sent - sent_at[msg_id] if done else float("inf"))
    return sorted(delays)


def check_delivery(config_path: Path, sim, timeout: float) -> dict:
    """Every reply delivered exactly once? Compared part by part with the simulator's record."""
    config = load(config_path)
    db = storage.connect(config.storage.database)
    finished = drained(db, timeout)
    wanted: collections.Counter = collections.Counter()
    for row in db.query("SELECT user_id, payload FROM outbox"):
        for text, _ in message_parts(json.loads(row["payload"]), config.zalo.buttons):
            wanted[(row["user_id"], text)] += 1
    got = collections.Counter((m["user_id"], m["text"]) for m in sim.delivered())
    count = db.execute(
        "SELECT count(*), count(DISTINCT t.inbound_id) FROM inbound_events e "
        "JOIN turns t ON t.inbound_id = e.id WHERE e.event_name = 'user_send_text'"
    ).fetchone()
    inbound = db.execute(
        "SELECT count(*) FROM inbound_events WHERE event_name = 'user_send_text'"
    ).fetchone()[0]
    return {
        "drained": finished,
        "inbound": inbound,
        "turns": count[0],
        "answered": count[1],
        "replies": db.execute("SELECT count(*) FROM outbox").fetchone()[0],
        "sends_expected": sum(wanted.values()),
        "sends_delivered": sum(got.values()),
        "missing": sum((wanted - got).values()),
        "duplicates": sum((got - wanted).values()),
    }


def start_processes(args, config_path: Path, work: Path, port: int) -> list[subprocess.Popen]:
    """The two processes an office runs: the webhook under gunicorn, and the scheduler."""
    env = {**os.environ, "BOT_CONFIG": str(config_path), "PYTHONPATH": str(ROOT)}
    if args.lexical:
        env["BOT_SEMANTIC"] = "0"
    web = gunicorn("webhooks:app", port, args, env)
    wait_ready(port, "/healthz")
    scheduler = subprocess.Popen(
        [sys.executable, "scheduler.py"],
        cwd=str(ROOT),
        env=env,
        stderr=open(work / "scheduler.log", "ab"),  # noqa: SIM115
    )
    return [web, scheduler]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop events/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="open-loop duration")
    parser.add_argument("--events", type=int, default=3000, help="closed-loop events")
    parser.add_argument("--clients", type=int, default=4, help="load processes (connections)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--worker-class", default="bot.serving.BoundedGeventWorker", help="gunicorn worker class"
    )
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--lexical", action="store_true", help="BOT_SEMANTIC=0 (words alone)")
    parser.add_argument(
        "--distinct", action="store_true", help="every message text differs (no reuse)"
    )
    parser.add_argument("--no-echo", action="store_true", help="simulator posts no oa_send echoes")
    args = parser.parse_args()
    global DISTINCT
    DISTINCT = args.distinct  # the load processes are forked after this

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
    db = storage.connect(load(config_path).storage.database)
    port, hello_port = free_port(), free_port()
    webhook_path = "/webhooks/zalo"
    sim.set_webhook(f"http://127.0.0.1:{port}{webhook_path}")
    processes = []
    try:
        processes += start_processes(args, config_path, work, port)
        warm = argparse.Namespace(**{**vars(args), "events": args.warmup, "rate": 0.0})
        drive(port, webhook_path, secret, warm, True, 10_000_000)
        if not drained(db, 300):  # the scheduler has loaded its index and answered them
            raise SystemExit(f"warm-up not answered; see {work / 'scheduler.log'}")
        steady = argparse.Namespace(
            **{**vars(args), "events": int(args.rate * args.seconds), "clients": 2}
        )
        opened = drive(port, webhook_path, secret, steady, True, 20_000_000)
        drained(db, 300)
        delays = reply_delays(db, opened["sent_at"])
        closed = argparse.Namespace(**{**vars(args), "rate": 0.0})
        bot = drive(port, webhook_path, secret, closed, True, 0)
        delivery = check_delivery(config_path, sim, timeout=900)
        cpu = {
            "webhook (gunicorn)": cpu_seconds(processes[0].pid),
            "scheduler (turns, delivery)": cpu_seconds(processes[1].pid, children=False),
            "simulator (bench process)": cpu_seconds(os.getpid(), children=False),
        }
        hello = gunicorn("bench.hello_app:app", hello_port, args, dict(os.environ))
        processes.append(hello)
        wait_ready(hello_port, "/")
        drive(hello_port, "/", secret, warm, False, 0)
        bare = drive(hello_port, "/", secret, closed, False, 0)
    finally:
        sim.set_webhook("")  # echoes still queued are dropped, not posted to a stopped server
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
        sim.stop()
    return report(args, opened, delays, bot, bare, delivery, cpu)


def report(args, opened, delays, bot, bare, delivery, cpu) -> int:
    """Print the figures and whether each target is met; 0 when all are."""
    workers = f"gunicorn {args.worker_class} {args.workers} workers x {args.threads} threads"
    signals = "words alone (BOT_SEMANTIC=0)" if args.lexical else "words + meaning (semantic on)"
    texts = "every message distinct" if DISTINCT else f"{len(QUESTIONS)} texts repeated"
    print(f"\nmachine: {os.cpu_count()} CPU(s); {workers}; understanding: {signals}; {texts}")
    print(f"echo events from the simulator: {'off' if args.no_echo else 'on'}\n")
    print(f"open loop: {opened['events']} events at {args.rate:.0f}/s for {args.seconds:.0f} s")
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    unanswered = sum(1 for d in delays if d == float("inf"))
    print(
        f"  acknowledged p50 {opened['p50']:.1f} ms, p99 {opened['p99']:.1f} ms  "
        f"{opened['statuses']}\n  event -> last reply accepted by Zalo: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms ({unanswered} without a delivered reply)\n"
    )
    print(f"closed loop: {args.events} events, {args.clients} keep-alive client processes")
    print(f"{'':22}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for name, r in (("webhook (signed, DB)", bot), ("bare Flask hello", bare)):
        print(f"{name:22}{r['rate']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}  {r['statuses']}")
    ratio = bot["rate"] / bare["rate"]
    print(f"webhook / bare Flask: {ratio:.2f}")
    total = args.events + args.warmup + opened["events"]
    print("\nCPU per citizen event (whole run incl. warm-up and draining):")
    for name, seconds in cpu.items():
        print(f"  {name:30}{seconds * 1000 / total:6.2f} ms")
    d = delivery
    print(
        f"\n{d['inbound']} citizen events, {d['answered']} answered by {d['turns']} turns; "
        f"{d['replies']} replies queued; {d['sends_delivered']}/{d['sends_expected']} sends "
        f"delivered, {d['missing']} missing, {d['duplicates']} duplicated"
        + ("" if d["drained"] else " (NOT drained)")
    )
    targets = {
        "webhook >= 50% of bare Flask's events/s": ratio >= 0.5,
        "p99 acknowledgement <= 20 ms (closed loop)": bot["p99"] <= 20,
        f"open loop at {args.rate:.0f}/s: reply p50 <= 300 ms": p50 <= 0.3,
        f"open loop at {args.rate:.0f}/s: reply p99 <= 1 s": p99 <= 1.0,
        "one turn per event, every reply exactly once": d["drained"]
        and d["turns"] == d["answered"] == d["inbound"]
        and d["missing"] == d["duplicates"] == 0,
        "every event acknowledged 200": set(bot["statuses"]) == set(opened["statuses"]) == {200},
    }
    print()
    for name, met in targets.items():
        print(f"  {'MET    ' if met else 'NOT MET'}  {name}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
