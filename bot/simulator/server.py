"""The simulator's HTTP side: Zalo's API subset and its OAuth endpoint (controls: `controls`)."""

from __future__ import annotations

import json
import logging
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.simulator.attachments import Refused, parse_attachment
from bot.simulator.controls import control
from bot.simulator.state import SimState
from bot.simulator.webhook import WebhookPoster

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2000
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
"""What reading from or writing to a client that hung up raises: not an error of ours."""


def envelope(data: Any = None, error: int = 0, message: str = "Success") -> dict[str, Any]:
    """Zalo's response shape: HTTP 200 with `error` and `message` (errors too)."""
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not None:
        body["data"] = data
    return body


class SimServer(ThreadingHTTPServer):
    """A threaded HTTP server carrying the simulator state and the webhook poster."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SimState, poster: WebhookPoster) -> None:
        super().__init__(address, Handler)
        self.state = state
        self.poster = poster

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        """Log a client that hung up between requests at debug; print anything else as usual."""
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE):
            logger.debug("simulator: client %s disconnected: %r", client_address[0], exc)
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Routes one request; API errors come back as HTTP 200 with a non-zero `error`."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK costs
    # 40 ms per call on keep-alive connections (added by outreach for the broadcast benchmark).
    disable_nagle_algorithm = True
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        """Quiet: requests are logged at debug level only."""
        logger.debug("simulator: " + format, *args)

    # -- plumbing --------------------------------------------------------------------------

    def _body(self) -> bytes:
        """The request body, read once (so keep-alive connections stay in step)."""
        cached = getattr(self, "_raw", None)
        if cached is None:
            length = int(self.headers.get("Content-Length") or 0)
            cached = self._raw = self.rfile.read(length) if length else b""
        return cached

    def _json_body(self) -> Any:
        try:
            return json.loads(self._body() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except CLIENT_GONE as exc:
            self._client_gone(exc)

    def _client_gone(self, exc: OSError) -> None:
        """The client hung up mid-request: nobody to answer, so log at debug and close."""
        logger.debug(
            "simulator: client %s disconnected during %s %s: %r",
            self.client_address[0],
            self.command,
            self.path,
            exc,
        )
        self.close_connection = True

    def _query_data(self) -> Any:
        query = parse_qs(urlsplit(self.path).query)
        try:
            return json.loads(query.get("data", ["{}"])[0])
        except json.JSONDecodeError:
            return None

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        """Route a GET."""
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        """Route a POST."""
        self._route("POST")

    def _route(self, method: str) -> None:
        self._raw = None
        try:
            self._body()
        except CLIENT_GONE as exc:
            return self._client_gone(exc)
        try:
            self._dispatch(method)
        except Exception:  # a fake must not hang a client: answer like a broken server
            logger.exception("simulator: error on %s %s", method, self.path)
            self._send(500, b"Internal Server Error", "text/plain")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        if path.startswith("/_sim/") or path == "/":
            return control(self, method, path)
        if path == "/v4/oa/access_token" and method == "POST":
            return self._oauth()
        if not (path.startswith("/v2.0/") or path.startswith("/v3.0/")):
            return self._send(404, envelope(error=-404, message="Not found"))
        state.count_call(path)
        delay = state.faults.delay_seconds
        if delay:
            time.sleep(delay)
        mode = state.take_outage()
        if mode == "close":
            self.close_connection = True
            return
        if mode == "503":
            return self._send(503, b"Service Unavailable", "text/plain")
        if not state.token_valid(self.headers.get("access_token", "")):
            return self._send(200, envelope(error=-216, message="Access token is invalid"))
        handler = ROUTES.get((method, path))
        if handler is None:
            return self._send(200, envelope(error=-201, message="API not supported here"))
        try:
            result = handler(self)
        except (TypeError, ValueError, KeyError, AttributeError):
            result = envelope(error=-201, message="Parameters invalid")
        late = state.faults.late_seconds
        if late:  # the work is done (a send is recorded and echoed); only the answer is late
            time.sleep(late)
        self._send(200, result)

    # -- OA API ----------------------------------------------------------------------------

    def send_cs(self) -> dict[str, Any]:
        """POST /v3.0/oa/message/cs: a consultation message (text, optional image and buttons)."""
        body = self._json_body()
        try:
            user_id = str(body["recipient"]["user_id"])
            message = body["message"]
            text = message.get("text", "")
        except (TypeError, KeyError, AttributeError):
            return envelope(error=-201, message="Parameters invalid")
        if not isinstance(text, str) or not (text or message.get("attachment")):
            return envelope(error=-201, message="Text is required")
        if len(text) > TEXT_LIMIT:
            return envelope(error=-201, message="Text exceeds 2000 characters")
        try:
            image_url, buttons = parse_attachment(message.get("attachment"))
        except Refused as exc:
            return envelope(error=exc.code, message=exc.message)
        state = self.server.state
        failure = state.take_send_error(user_id)
        if failure:
            return envelope(error=failure[0], message=failure[1])
        entry = state.record_message(
            {
                "kind": "cs",
                "user_id": user_id,
                "text": text,
                "image_url": image_url,
                "buttons": buttons,
                "quote_message_id": message.get("quote_message_id"),
            }
        )
        self.server.poster.echo(entry)
        return envelope(
            {
                "message_id": entry["message_id"],
                "user_id": user_id,
                "sent_time": entry["sent_time"],
                "quota": {"quota_type": "reply", "remain": "8", "total": "8"},
            }
        )

    def send_template(self) -> dict[str, Any]:
        """POST /v3.0/oa/message/template: a ZBS template message by user id."""
        body = self._json_body()
        if not isinstance(body, dict) or not body.get("template_id"):
            return envelope(error=-201, message="Parameters invalid")
        user_id = str(body.get("user_id") or (body.get("recipient") or {}).get("user_id") or "")
        if not user_id:
            return envelope(error=-201, message="user_id is required")
        entry = self.server.state.record_message(
            {
                "kind": "template",
                "user_id": user_id,
                "template_id": body["template_id"],
                "template_data": body.get("template_data") or {},
                "text": f"[mẫu {body['template_id']}]",
            }
        )
        return envelope({"message_id": entry["message_id"], "sent_time": entry["sent_time"]})

    def quota(self) -> dict[str, Any]:
        """POST /v3.0/oa/quota/message: last interaction and remaining quota of a user."""
        body = self._json_body() or {}
        user = self.server.state.users.get(str(body.get("user_id", "")))
        if user is None:
            return envelope(error=-201, message="user_id is invalid")
        return envelope(
            {
                "last_interaction": str(user.last_interaction_ms or ""),
                "cs_reply": {"remain": "8", "total": "8"},
                "promotion": {"daily_remain": 1, "daily_total": 1, "monthly_remain": 4},
            }
        )

    def user_detail(self) -> dict[str, Any]:
        """GET /v3.0/oa/user/detail?data={"user_id"}."""
        data = self._query_data() or {}
        user = self.server.state.users.get(str(data.get("user_id", "")))
        if user is None:
            return envelope(error=-201, message="user_id is invalid")
        last = user.last_interaction_ms
        return envelope(
            {
                "user_id": user.user_id,
                "user_id_by_app": "app" + user.user_id,
                "display_name": user.display_name,
                "user_is_follower": user.follower,
                "user_last_interaction_date": time.strftime("%d/%m/%Y", time.gmtime(last / 1000))
                if last
                else "",
                "tags_and_notes_info": {"tag_names": sorted(user.tags), "notes": []},
            }
        )

    def user_list(self) -> dict[str, Any]:
        """GET /v3.0/oa/user/getlist?data={"offset","count","tag_name"} (count <= 50)."""
        data = self._query_data()
        if not isinstance(data, dict):
            return envelope(error=-201, message="data is invalid")
        offset, count = int(data.get("offset", 0)), int(data.get("count", 50))
        if count > 50 or count < 1 or offset < 0:
            return envelope(error=-201, message="count must be between 1 and 50")
        tag = data.get("tag_name")
        with self.server.state.lock:
            users = [
                u.user_id
                for u in self.server.state.users.values()
                if u.follower and (not tag or tag in u.tags)
            ]
        page = users[offset : offset + count]
        return envelope(
            {
                "total": len(users),
                "count": len(page),
                "offset": offset,
                "users": [{"user_id": u} for u in page],
            }
        )

    def conversation(self) -> dict[str, Any]:
        """GET /v2.0/oa/conversation?data={"user_id","offset","count"} (count <= 10)."""
        data = self._query_data()
        if not isinstance(data, dict) or not data.get("user_id"):
            return envelope(error=-201, message="user_id is required")
        offset, count = int(data.get("offset", 0)), int(data.get("count", 10))
        if count > 10 or count < 1 or offset < 0:
            return envelope(error=-201, message="count must be between 1 and 10")
        return envelope(self.server.state.history(str(data["user_id"]), offset, count))

    def tags(self) -> dict[str, Any]:
        """GET /v2.0/oa/tag/gettagsofoa: the OA's tag names."""
        with self.server.state.lock:
            names = sorted({t for u in self.server.state.users.values() for t in u.tags})
        return envelope(names)

    # -- OAuth -----------------------------------------------------------------------------

    def _oauth(self) -> None:
        form = parse_qs(self._body().decode("utf-8", "replace"))
        state = self.server.state
        if form.get("grant_type", [""])[0] != "refresh_token":
            return self._send(200, {"error": -14001, "error_name": "Unsupported grant type"})
        result = state.exchange(
            form.get("refresh_token", [""])[0],
            form.get("app_id", [""])[0],
            self.headers.get("secret_key", ""),
        )
        self._send(200, result)


ROUTES = {
    ("POST", "/v3.0/oa/message/cs"): Handler.send_cs,
    ("POST", "/v3.0/oa/message/template"): Handler.send_template,
    ("POST", "/v3.0/oa/quota/message"): Handler.quota,
    ("GET", "/v3.0/oa/user/detail"): Handler.user_detail,
    ("GET", "/v3.0/oa/user/getlist"): Handler.user_list,
    ("GET", "/v2.0/oa/tag/gettagsofoa"): Handler.tags,
    ("GET", "/v2.0/oa/conversation"): Handler.conversation,
}
