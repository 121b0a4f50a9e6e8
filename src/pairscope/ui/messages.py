"""What a visitor reads when something fails: one table from error class to message and hint.

Every error the core raises on purpose is a :class:`pairscope.errors.PairscopeError`; the app turns
it into a :class:`UserError` here, and nowhere else, so the same failure always reads the same way
(titiler's ``DEFAULT_STATUS_CODES`` is the model). Messages are plain text: the views show them as
text, never as HTML or Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from pairscope import errors
from pairscope.io.http import TOKEN_ENV

__all__ = ["MESSAGES", "UserError", "as_text", "explain"]

#: Markdown characters that could make links, images or code from a visitor's text (HTML is
#: escaped separately; emphasis creates no link, image or script and is left alone so that plain
#: sentences read as typed).
_MARKDOWN_SPECIALS = "\\`[]"


def as_text(value: object) -> str:
    """``value`` safe to place in a Markdown / Alert pane: HTML escaped (``<img ...>`` shows as
    typed, no element is created) and the Markdown of links, images and code backslash-escaped
    (``[x](javascript:...)`` stays text). Use it for anything that comes from a URL, a visitor or
    a remote server."""
    import html

    text = html.escape(str(value), quote=True)
    out = []
    for ch in text:
        out.append("\\" + ch if ch in _MARKDOWN_SPECIALS else ch)
    return "".join(out)


class UserError(errors.PairscopeError):
    """An error the person at the screen can act on: ``message`` says what, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


@dataclass(frozen=True)
class Message:
    #: ``{what}`` is the action that failed, ``{error}`` the core's (credential-free) message.
    text: str
    hint: str


#: Error class -> what the visitor reads; the first class in this order that matches wins.
MESSAGES: tuple[tuple[type[BaseException], Message], ...] = (
    (errors.LocationRefusedError, Message("{error}", "Open one of the catalogs this server allows.")),
    (errors.CatalogAuthError, Message(
        "{what}: the catalog needs a valid token ({error}).",
        f"Ask the operator to set {TOKEN_ENV} in the server's environment (tokens are never "
        "typed into the page).")),
    (errors.CatalogUnreachableError, Message(
        "{what}: the catalog is unreachable ({error}).",
        "Check the address and that the server is up and reachable from this machine.")),
    (errors.CatalogTimeoutError, Message(
        "{what}: the catalog did not answer in time ({error}).",
        "The server may be overloaded: try again in a minute.")),
    (errors.BurstNotFoundError, Message("{what}: {error}.", "Pick one of the listed bursts.")),
    (errors.GridMismatchError, Message("{what}: {error}.", "Pick dates of the same coregistered stack.")),
    (errors.AssetError, Message(
        "{what}: {error}.", "The asset may be missing or unreadable; drop that date from the selection.")),
    (errors.CatalogFormatError, Message(
        "{what}: {error}.", "Check that the address is a STAC API root or a static catalog.json.")),
    (errors.CatalogError, Message("{what}: {error}.", "Check the catalog.")),
    (errors.WindowError, Message("{what}: {error}.", "Choose a smaller window.")),
    (errors.PairRuleError, Message("{what}: {error}.", "Change the pair rule.")),
    (errors.GeometryError, Message("{what}: {error}.", "Pick another date or pixel.")),
    (errors.InputError, Message("{what}: {error}.", "")),
    (errors.PairscopeError, Message("{what}: {error}.", "")),
)


def explain(exc: BaseException, what: str) -> UserError:
    """``exc`` as the message a visitor reads (``what``: the action that failed, e.g. "Could not
    open catalog x"). A :class:`UserError` passes through unchanged; errors that are not
    pairscope's become a generic message naming the error class only."""
    if isinstance(exc, UserError):
        return exc
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    for cls, message in MESSAGES:
        if isinstance(exc, cls):
            return UserError(message.text.format(what=what, error=text), message.hint)
    if isinstance(exc, ValueError | FileNotFoundError | KeyError):
        return UserError(f"{what}: {text}.", "")
    return UserError(
        f"{what}: an unexpected {type(exc).__name__}.",
        "The selection is unchanged; try another burst, dates or window.",
    )
