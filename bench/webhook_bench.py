"""Webhook benchmark: signed Zalo events at `gunicorn webhooks:app` on loopback, beside bare Flask.

Starts the Zalo simulator and the webhook under gunicorn on a temporary SQLite file and the
shipped knowledge base, then, in one run:

1. closed loop: `--events` signed events from `--clients` processes (one keep-alive connection
   each) as fast as the webhook acknowledges them: events/s, p50/p99 of the acknowledgement
   and the gunicorn processes' CPU per request;
2. the same closed loop against a bare Flask "hello" app under the same gunicorn settings;
   steps 1 and 2 are taken in turn `--rounds` times (default 3), and the round with the median
   ratio is reported (one round's ratio moved between 0.46 and 0.58 on this 2-core machine);
3. the scheduler (`python scheduler.py`: turn worker, outbox delivery) is started as an office
   runs it and answers the closed loop's events; once they are delivered and the simulator
   has posted their echoes, open loop: `--rate` events/s for
   `--seconds` (distinct citizens' `user_send_text`), and the delay from each event's sending
   to its last reply accepted by Zalo (the simulator).

Finally it waits for every turn to be answered and the outbox to drain, and checks against the
simulator's record that every reply was delivered exactly once. Targets are printed, not
asserted by tests.

Why the scheduler starts after the closed loops: the ratio compares what the webhook costs with
what bare Flask costs on the same 2 cores. While the scheduler runs, it answers the events the
closed loop is recording (a turn is ~10-30 ms of CPU, the acknowledgement ~0.3 ms), delivers the
replies and has the simulator post their echoes to the webhook; none of that happens during the
bare Flask phase. Measured so, the ratio was mostly the turn worker's share of the CPU. The
webhook's own work is counted in full: signature, parsing, dedup, the committed insert (each
event durable before its 200), and the WAL checkpoint, which a thread of this process runs once
a second as the scheduler's checkpoint job does. Each closed loop starts once the server's
workers are idle (done loading). `--busy` adds, for information, a closed loop while the
scheduler answers it; the open loop measures the whole pipeline at a steady rate.

    .venv/bin/python bench/webhook_bench.py [--rate 100] [--seconds 20] [--events 3000]
        [--clients 4] [--workers 3] [--worker-class gevent] [--rounds 3] [--lexical] [--no-echo]
        [--busy]
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import storage  # noqa: E402
from bot.config import load  # noqa: E402
from bot.outbox.delivery import message_parts  # noqa: E402
from bot.simulator import start_simulator  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import loadgen  # noqa: E402
from loadgen import APP_ID, OA_ID, QUESTIONS, drive, percentile  # noqa: E402


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


def echoes_posted(sim, timeout: float) -> bool:
    """Wait until the simulator has posted to the webhook the echoes of every reply it took
    (thousands after the closed loops' backlog, which the webhook records or drops)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sim.poster.echoes.empty():
            time.sleep(0.5)  # the one being posted
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


def start_scheduler(config_path: Path, work: Path, env: dict) -> subprocess.Popen:
    """`python scheduler.py`: the turn worker, the outbox delivery and the checkpoint job."""
    log = open(work / "scheduler.log", "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "scheduler.py"], cwd=str(ROOT), env=env, stderr=log)


def settle(pid: int, timeout: float = 120.0) -> None:
    """Wait until the process tree `pid` is idle (gunicorn workers done loading the app)."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now


def checkpoints(path: str, stop: threading.Event) -> None:
    """The scheduler's checkpoint job, while the scheduler does not run: once a second."""
    db = storage.connect(path)
    while not stop.wait(1.0):
        storage.checkpoint_wal(db)


def closed_loop(
    port: int, path: str, pid: int, secret: str, args, signed: bool, round_: int = 0
) -> dict:
    """Warm up, wait for the server to be idle, then the measured closed loop; with the server
    processes' CPU per request. Each round sends events of its own (no redelivery)."""
    warm = argparse.Namespace(**{**vars(args), "events": args.warmup, "rate": 0.0})
    drive(port, path, secret, warm, signed, 10_000_000 + round_ * 1_000_000)
    settle(pid)
    before = cpu_seconds(pid)
    measured = argparse.Namespace(**{**vars(args), "rate": 0.0})
    result = drive(port, path, secret, measured, signed, round_ * 1_000_000)
    result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / result["events"]
    return result


def median_round(rounds: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """The (webhook, bare Flask) pair of the round whose events/s ratio is the median."""
    ordered = sorted(rounds, key=lambda pair: pair[0]["rate"] / pair[1]["rate"])
    return ordered[len(ordered) // 2]


def measure(args, sim, config_path: Path, work: Path, secret: str) -> dict:
    """Run the phases (see the module docstring); the figures for `report`."""
    env = {**os.environ, "BOT_CONFIG": str(config_path), "PYTHONPATH": str(ROOT)}
    if args.lexical:
        env["BOT_SEMANTIC"] = "0"
    db_path = load(config_path).storage.database
    db = storage.connect(db_path)
    port, hello_port, webhook = free_port(), free_port(), "/webhooks/zalo"
    sim.set_webhook(f"http://127.0.0.1:{port}{webhook}")
    processes, out, stop = [], {}, threading.Event()
    try:
        processes.append(gunicorn("webhooks:app", port, args, env))
        wait_ready(port, "/healthz")
        threading.Thread(target=checkpoints, args=(db_path, stop), daemon=True).start()
        hello = gunicorn("bench.hello_app:app", hello_port, args, dict(os.environ))
        processes.append(hello)
        wait_ready(hello_port, "/")
        out["rounds"] = [
            (
                closed_loop(port, webhook, processes[0].pid, secret, args, True, n),
                closed_loop(hello_port, "/", hello.pid, secret, args, False, n),
            )
            for n in range(args.rounds)
        ]
        out["bot"], out["bare"] = median_round(out["rounds"])
        hello.send_signal(signal.SIGTERM)
        hello.wait(30)
        stop.set()
        began = time.monotonic()
        scheduler = start_scheduler(config_path, work, env)
        processes.append(scheduler)
        if not drained(db, 900):  # the index is loaded and the closed loops' events answered
            raise SystemExit(f"backlog not answered; see {work / 'scheduler.log'}")
        out["backlog_seconds"] = time.monotonic() - began
        echoes_posted(sim, 300)  # the open loop starts on an idle pipeline
        steady = argparse.Namespace(
            **{**vars(args), "events": int(args.rate * args.seconds), "clients": 2}
        )
        out["opened"] = drive(port, webhook, secret, steady, True, 20_000_000)
        drained(db, 300)
        out["delays"] = reply_delays(db, out["opened"]["sent_at"])
        if args.busy:  # for information: the closed loop while the scheduler answers it
            busy = argparse.Namespace(**{**vars(args), "rate": 0.0})
            out["busy"] = drive(port, webhook, secret, busy, True, 30_000_000)
        out["delivery"] = check_delivery(config_path, sim, timeout=900)
        out["cpu"] = {
            "webhook (gunicorn)": cpu_seconds(processes[0].pid),
            "scheduler (turns, delivery)": cpu_seconds(scheduler.pid, children=False),
            "simulator (bench process)": cpu_seconds(os.getpid(), children=False),
        }
    finally:
        stop.set()
        sim.set_webhook("")  # echoes still queued are dropped, not posted to a stopped server
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
    return out


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
    parser.add_argument(
        "--rounds", type=int, default=3, help="closed-loop rounds, webhook and bare Flask in turn"
    )
    parser.add_argument("--lexical", action="store_true", help="BOT_SEMANTIC=0 (words alone)")
    parser.add_argument(
        "--distinct", action="store_true", help="every message text differs (no reuse)"
    )
    parser.add_argument("--no-echo", action="store_true", help="simulator posts no oa_send echoes")
    parser.add_argument(
        "--busy", action="store_true", help="also a closed loop while the scheduler answers"
    )
    args = parser.parse_args()
    loadgen.DISTINCT = args.distinct  # the load processes are forked after this

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
    try:
        figures = measure(
            args, sim, write_config(work, sim.url, secret, app_secret, rt), work, secret
        )
    finally:
        sim.stop()
    return report(args, figures)


def report(args, figures: dict) -> int:
    """Print the figures and whether each target is met; 0 when all are."""
    opened, delays, bot, bare = (figures[k] for k in ("opened", "delays", "bot", "bare"))
    delivery, cpu = figures["delivery"], figures["cpu"]
    workers = f"gunicorn {args.worker_class} {args.workers} workers x {args.threads} threads"
    signals = "words alone (BOT_SEMANTIC=0)" if args.lexical else "words + meaning (semantic on)"
    texts = "every message distinct" if args.distinct else f"{len(QUESTIONS)} texts repeated"
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
    print(f"{'':22}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>8}  statuses")
    for name, r in (("webhook (signed, DB)", bot), ("bare Flask hello", bare)):
        print(
            f"{name:22}{r['rate']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['cpu_ms']:>8.2f}  "
            f"{r['statuses']}"
        )
    ratio = bot["rate"] / bare["rate"]
    ratios = ", ".join(f"{b['rate'] / h['rate']:.2f}" for b, h in figures["rounds"])
    print(
        f"webhook / bare Flask: {ratio:.2f}, the median of {len(figures['rounds'])} rounds "
        f"taken in turn ({ratios}); the rows above are that round's\n"
        "(CPU ms: gunicorn processes per request)"
    )
    busy = figures.get("busy")
    if busy:
        print(
            f"for information, webhook while the scheduler answers: {busy['rate']:.0f} events/s, "
            f"p50 {busy['p50']:.2f} ms, p99 {busy['p99']:.2f} ms  {busy['statuses']}"
        )
    print(f"the scheduler answered the closed loops' events in {figures['backlog_seconds']:.0f} s")
    closed = (args.warmup + args.events) * len(figures["rounds"]) + (args.events if busy else 0)
    total = closed + opened["events"]
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
        "every event acknowledged 200": all(
            set(r["statuses"]) == {200}
            for r in (*(b for b, _ in figures["rounds"]), opened, busy or bot)
        ),
    }
    print()
    for name, met in targets.items():
        print(f"  {'MET    ' if met else 'NOT MET'}  {name}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
