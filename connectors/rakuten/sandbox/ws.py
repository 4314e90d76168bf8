"""Entry point for Rakuten web-service calls: faults, parameter and auth checks, logging."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from connectors.rakuten.sandbox import ws_errors
from connectors.rakuten.sandbox.faults import fault_reply
from connectors.rakuten.sandbox.model import LogEntry
from connectors.rakuten.sandbox.reply import Reply, text_reply
from connectors.rakuten.sandbox.state import SandboxState
from connectors.rakuten.sandbox.ws_actions import ACTIONS, WsRequest
from connectors.rakuten.sandbox.ws_errors import WsError
from connectors.rakuten.sandbox.ws_lifecycle import LIFECYCLE_ACTIONS
from connectors.rakuten.sandbox.xml_out import CONTENT_TYPE, error_document

ROUTES = {**ACTIONS, **LIFECYCLE_ACTIONS}
WS_PATHS = frozenset(path for path, _ in ROUTES)
VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def _run(state: SandboxState, request: WsRequest, wait: Callable[[float], object]) -> Reply:
    """Serve a fault if one is due, else check the call and run its action."""
    action = request.query.get("action", "")
    login = request.query.get("login", "")
    fault = state.take_fault(login, action) if login else None
    if fault is not None and fault.kind != "hang":
        return fault_reply(fault, action, error_status=state.config.error_http_status)
    if fault is not None:
        wait(fault.hang_s)
    route = ROUTES.get((request.path, request.param("action")))
    if route is None:
        raise ws_errors.invalid("action")
    handler, pro_only = route
    seller = state.authenticate(request.param("login"), request.param("pwd"))
    if not VERSION.fullmatch(request.param("version")):
        raise ws_errors.invalid("version")
    if pro_only and not seller.pro:
        raise ws_errors.not_pro()
    return Reply(200, CONTENT_TYPE, handler(state, seller, request))


def handle(state: SandboxState, request: WsRequest, wait: Callable[[float], object]) -> Reply:
    """Answer one call to /sales_ws or /stock_ws and record it in the request log.

    `wait(seconds)` sleeps for a hang fault; the server makes it return early on stop.
    """
    if request.path not in WS_PATHS:
        reply = text_reply("Not Found", 404)
    else:
        try:
            reply = _run(state, request, wait)
        except WsError as error:
            body = error_document(error)
            reply = Reply(state.config.error_http_status, CONTENT_TYPE, body, error_code=error.code)
    state.log(
        LogEntry(
            time=dt.datetime.now(dt.UTC).isoformat(),
            method=request.method,
            path=request.path,
            action=request.query.get("action", ""),
            login=request.query.get("login", ""),
            status=reply.status,
            error_code=reply.error_code,
            item_id=request.query.get("itemid", ""),
        )
    )
    return reply
