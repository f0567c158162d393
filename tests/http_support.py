"""A real HTTP server on 127.0.0.1 for an app, and a console login over it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from flask import Flask
from werkzeug.serving import make_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port, threaded) and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def csrf(session: requests.Session, url: str) -> str:
    """The CSRF token printed in the form of the page at `url`."""
    found = CSRF.search(session.get(url, timeout=10).text)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def console_login(
    session: requests.Session, base: str, username: str, password: str, **headers: str
) -> requests.Response:
    """Post the console's login form (not following the redirect)."""
    token = csrf(session, base + "/admin/login")
    form = {"username": username, "password": password, "csrf_token": token}
    return session.post(
        base + "/admin/login", data=form, headers=headers, allow_redirects=False, timeout=30
    )
