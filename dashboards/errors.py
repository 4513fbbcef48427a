"""The one JSON error answer of the server (API, downloads, security, bulletins).

Every refusal in JSON has the same shape, whatever route gives it:

    {"status": "rejected" | "denied" | "not_found" | "error", "errors": ["中文说明…", …], …}

`status` follows the HTTP code (400/413/422 rejected — the request or file is wrong and says
how to fix it; 401/403 denied; 404 not_found; anything else error); `errors` is a list of
Chinese sentences; an upload's answer adds `rows` and `warnings` (api.outcome_json).
"""
from __future__ import annotations

import flask

STATUS_WORDS = {400: "rejected", 413: "rejected", 422: "rejected", 401: "denied", 403: "denied",
                404: "not_found"}


def status_word(http_status: int) -> str:
    return STATUS_WORDS.get(http_status, "error")


def json_error(http_status: int, *messages: str, **extra):
    """(response, status) for a refusal: see the module's docstring."""
    body = {"status": status_word(http_status), "errors": [str(m) for m in messages], **extra}
    resp = flask.jsonify(body)
    if http_status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="ybjc"'
    return resp, http_status
