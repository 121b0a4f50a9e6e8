"""The error tree: every error pairscope raises on purpose derives from :class:`PairscopeError`.

Messages say what is wrong and how to fix it, and never hold credentials or file contents. Errors
about bad arguments also derive from ``ValueError`` (and lookups from ``LookupError``), so callers
that catch the builtin classes keep working. The app maps these classes to what a visitor reads in
one table (``pairscope.ui.messages``).
"""

from __future__ import annotations

__all__ = [
    "AssetError",
    "BurstNotFoundError",
    "CatalogAuthError",
    "CatalogError",
    "CatalogFormatError",
    "CatalogHTTPError",
    "CatalogTimeoutError",
    "CatalogUnreachableError",
    "GeometryError",
    "GridMismatchError",
    "InputError",
    "LocationRefusedError",
    "OutputLockedError",
    "PairRuleError",
    "PairscopeError",
    "RenderError",
    "SchemaNotFoundError",
    "WindowError",
]


class PairscopeError(Exception):
    """Root of every error pairscope raises on purpose."""


# ------------------------------------------------------------------------------------ bad input
class InputError(PairscopeError, ValueError):
    """An argument or an array that pairscope cannot work with correctly (the message says why)."""


class WindowError(InputError):
    """A boxcar window that is not two positive integers, or larger than the image."""


class PairRuleError(InputError):
    """A pair rule that does not follow the grammar (``all``, ``max:DAYS``, ``seq:N``, ...)."""


class RenderError(InputError):
    """A render definition cannot be applied to the data given."""


class GeometryError(InputError):
    """A geometry question the orbit or grid given cannot answer (e.g. a time far outside the
    orbit's state vectors)."""


# ---------------------------------------------------------------------------------------- catalog
class CatalogError(PairscopeError):
    """A catalog could not be read or did not hold what was asked. ``url`` has no credentials."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class CatalogUnreachableError(CatalogError):
    """The host did not accept a connection (down, wrong address, DNS)."""


class CatalogTimeoutError(CatalogError):
    """The server accepted the connection but did not answer in time (after bounded retries)."""


class CatalogAuthError(CatalogError):
    """HTTP 401/403: the catalog needs a (valid) bearer token."""

    def __init__(self, message: str, *, url: str | None = None, status: int = 401) -> None:
        super().__init__(message, url=url)
        self.status = status


class CatalogHTTPError(CatalogError):
    """Any other non-2xx HTTP answer (500, 404, ...)."""

    def __init__(self, message: str, *, url: str | None = None, status: int = 500) -> None:
        super().__init__(message, url=url)
        self.status = status


class CatalogFormatError(CatalogError):
    """The answer was not valid JSON or not a STAC document (or its links cycle or nest too deep)."""


class AssetError(CatalogError):
    """An item lacks the asset it needs, or the asset cannot be read."""


class BurstNotFoundError(CatalogError):
    """No item of the catalog holds the requested burst."""


class GridMismatchError(CatalogError, ValueError):
    """The dates asked for do not share one pixel grid."""


class LocationRefusedError(PairscopeError, ValueError):
    """A location (URL or path) outside the allowed roots was asked for."""


# ----------------------------------------------------------------------------------------- output
class SchemaNotFoundError(PairscopeError, LookupError):
    """A STAC document declares an extension whose schema is not in the offline schema folder."""


class OutputLockedError(PairscopeError):
    """Another run holds the output folder."""
