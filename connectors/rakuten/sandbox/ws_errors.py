"""The errorresponse cases the sandbox answers with (rakuten-api.md §1.1 and §8a)."""

from __future__ import annotations


class WsError(Exception):
    """Raised inside a web-service action to answer with an errorresponse document."""

    def __init__(self, type: str, code: str, message: str, detail: str) -> None:  # noqa: A002
        super().__init__(code, message, detail)
        self.type = type
        self.code = code
        self.message = message
        self.detail = detail


def bad_credentials() -> WsError:
    """Return the error for an unknown login or a wrong token (not told apart, as on Rakuten)."""
    return WsError(
        "Sender", "InvalidUserConnection", "Unknown user or password.", "Incorrect login or password"
    )


def missing(param: str) -> WsError:
    """Return the error for a mandatory query parameter that is absent or empty."""
    return WsError(
        "Sender", "ParameterError", "Problem with parameters.", f"The parameter {param} is mandatory"
    )


def invalid(param: str) -> WsError:
    """Return the error for a parameter whose value is not acceptable."""
    return WsError(
        "Sender", "ParameterError", "Problem with parameters.", f"The parameter '{param}' is invalid."
    )


def quota_exceeded() -> WsError:
    """Return the throttling error, worded like shiba's quota_exceeded_message.xml."""
    return WsError(
        "Sender",
        "InvalidUserRights",
        "Quota exceeded.",
        " You have exceeded the maximum number of requests per hour. "
        "Please contact support.pro@priceminister.com for more information. ",
    )


def not_pro() -> WsError:
    """Return the error for a non-professional seller calling a pro-only stock action."""
    return WsError(
        "Sender",
        "InvalidUserRights",
        "You are not allowed to use this service.",
        "This web service is reserved to professional sellers.",
    )


def submit_failed() -> WsError:
    """Return the error for an upload that carries no usable file part (DOC-GIF wording)."""
    return WsError(
        "ServerError",
        "ServerError",
        "Server not able to fullfill request.",
        "An error occurred while submitting the file",
    )
