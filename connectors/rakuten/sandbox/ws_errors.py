"""The errorresponse cases the sandbox answers with (rakuten-api.md §1.1 and §8a)."""

from __future__ import annotations


class WsError(Exception):
    """Raised inside a web-service action to answer with an errorresponse document.

    `more` are further <detail> elements after the first (one per refused file line).
    """

    def __init__(
        self, type: str, code: str, message: str, detail: str, more: tuple[str, ...] = ()  # noqa: A002
    ) -> None:
        super().__init__(code, message, detail)
        self.type = type
        self.code = code
        self.message = message
        self.detail = detail
        self.more = more


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


#: Texts of the shipping calls, as peers quote them (rakuten-api.md §8b).
ALREADY_SHIPPED = "a déjà été expédié"
UNKNOWN_ARTICLE = "numéro incorrect"
NOT_CONFIRMED = (
    "statut incorrect. L'ajout d'un numéro de suivi n'est possible que si le statut de "
    "votre article est 'confirmé'."
)


def article_text(item_id: str, text: str) -> str:
    """Return a per-item text as Rakuten words it ("Article N : ...")."""
    return f"Article {item_id} : {text}"


def article(item_id: str, text: str) -> WsError:
    """Return the refusal of one item by a shipping call."""
    return WsError("Sender", "ParameterError", "Problem with parameters.", article_text(item_id, text))


def articles(texts: list[str]) -> WsError:
    """Return the refusal of a shipping file, one detail per refused line."""
    return WsError("Sender", "ParameterError", "Problem with parameters.", texts[0], tuple(texts[1:]))


def wrong_status(current: str, required: str) -> WsError:
    """Return refusesale's answer for an item not awaiting acceptance (the code is a guess)."""
    detail = f"Current status : {current} - Required status : {required}"
    return WsError("Sender", "ParameterError", "Problem with parameters.", detail)


def not_cancellable() -> WsError:
    """Return cancelitem's answer for an item it cannot cancel (the code is a guess)."""
    text = "This item cannot be cancelled"
    return WsError("Sender", "ParameterError", text, text)


def comment_too_long() -> WsError:
    """Return cancelitem's answer for a message to the buyer over 400 characters."""
    text = "Your message cannot exceed 400 characters"
    return WsError("Sender", "ParameterError", text, text)


def unreadable_file() -> WsError:
    """Return the answer to a shipping file that is not the expected XML (wording invented)."""
    return WsError("Sender", "ParameterError", "Problem with parameters.", "The file could not be read.")
