"""The Flask application: the Zalo webhook, health check, domain verification, staff console."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import admin, storage
from bot.config import Config
from bot.inbox.webhook import create_webhook_blueprint, database, error_response
from bot.kb.live import Live
from bot.storage import inbox as inbox_store
from bot.storage import kbstate

logger = logging.getLogger(__name__)


def _live_kb(config: Config) -> Live:
    from bot.kb.live import LiveKB
    from bot.understanding import build_index

    # Loaded once while the worker boots; later edits are built by the watcher thread.
    return LiveKB(config.bot.knowledge_base, build_index, config.bot.reload_seconds).watch()


def create_app(
    config: Config, *, clock: Callable[[], float] = time.time, live_kb: Live | None = None
) -> Flask:
    """Build the app for `config`; `clock` gives the current epoch seconds (tests pass one)."""
    app = Flask(__name__)
    if config.webhook.proxy_hops:
        hops = config.webhook.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = config.webhook.max_body_bytes
    storage.connect(config.storage.database)  # create and migrate once, before serving
    app.extensions["bot.config"] = config
    app.extensions["bot.db_path"] = config.storage.database
    app.extensions["bot.connections"] = storage.Connections(
        config.storage.database, busy_timeout=config.webhook.lock_wait_seconds
    )
    app.extensions["bot.clock"] = clock
    app.extensions["bot.live_kb"] = live_kb if live_kb is not None else _live_kb(config)
    app.register_blueprint(create_webhook_blueprint(config))
    _register_admin(app, config)

    @app.get("/healthz")
    def healthz() -> Any:
        live = app.extensions["bot.live_kb"]
        status = live.status() if hasattr(live, "status") else {}
        # Events recorded but not answered yet: a growing backlog means the scheduler is down.
        with database() as db:
            backlog = inbox_store.backlog(db)
            answering = kbstate.load(db)
        oldest = backlog.pop("oldest_received_at")
        backlog["oldest_age_seconds"] = round(clock() - oldest, 1) if oldest else None
        return {
            "status": "ok",
            "knowledge_base": status,
            "answering_knowledge_base": _answering(answering, clock()),
            "inbox": backlog,
        }

    def _answering(state: dict[str, Any] | None, now: float) -> dict[str, Any] | None:
        """What the scheduler's turn worker last reported of the knowledge base it answers
        from (None: it never reported, e.g. the scheduler never ran on this database)."""
        if state is None:
            return None
        keys = ("version", "topics", "loaded_at", "refused", "errors")
        return {
            **{key: state[key] for key in keys},
            "reported_age_seconds": round(now - state["reported_at"], 1),
        }

    code = config.zalo.domain_verification_code
    if code:
        meta = f'<meta name="zalo-platform-site-verification" content="{code}" />'

        @app.get(f"/zalo_verifier{code}.html")
        def zalo_verifier() -> Response:
            return Response(f"<html><head>{meta}</head><body></body></html>", mimetype="text/html")

        @app.get("/")
        def index() -> Response:
            return Response(
                f"<html><head>{meta}</head><body>OK</body></html>", mimetype="text/html"
            )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        admin_page = app.extensions.get("bot.admin_error_page")
        if admin_page is not None and request.path.startswith("/admin"):
            return admin_page(exc.code or 500)
        code_name = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code_name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        logger.exception("unhandled error on %s", request.path)
        return error_response(503, "unavailable", "temporarily unavailable, please retry")

    return app


def _register_admin(app: Flask, config: Config) -> None:
    app.register_blueprint(admin.create_blueprint(config), url_prefix="/admin")

    def admin_error_page(status: int) -> Response:
        # Routing errors happen outside the blueprint (no console context): a plain page.
        message = escape(admin.ERROR_MESSAGES.get(status, "Yêu cầu không thực hiện được."))
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>Lỗi {status}</title></head><body><h1>Lỗi {status}</h1>"
            f'<p>{message}</p><p><a href="/admin/">Về trang quản trị</a></p></body></html>'
        )
        return Response(page, status=status, mimetype="text/html")

    app.extensions["bot.admin_error_page"] = admin_error_page
