"""Who holds a lease: owner ids naming host and process, and whether that process still runs.

Every lease in the database (an outbox row's, the scheduler's) is held under an owner id
`host:pid:random`. SQLite only works on one machine, so every holder runs on this host, and a
holder whose process is gone can be replaced at once instead of when its lease lapses.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_owner() -> str:
    """A lease owner id for this process: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(owner: str) -> bool:
    """True when `owner` names a process of this host that no longer runs.

    Unknown formats and other hosts count as alive (their leases lapse by time only).
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not _alive(int(pid_text))


def _alive(pid: int) -> bool:
    """True when process `pid` exists (ours, or one we may not signal)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
