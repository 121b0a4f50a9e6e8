"""STAC catalog access: open an API or a static catalog, find bursts and their acquisition dates.

``open_catalog`` returns a :class:`StacCatalog` for a STAC API root (through pystac-client) or a
static catalog / collection / item collection / item (local path or http URL, through pystac).
``search_bursts`` summarises the bursts a catalog holds, ``list_acquisitions`` lists the dates of one
burst with the assets to read per polarization (see :mod:`pairscope.stack`), ``list_products`` the
published pair products (coherence) of a burst.

Against an API the collections, bbox and datetime are filtered by the server; burst id, relative orbit
and orbit state go into a CQL2 ``filter`` when the server conforms to the Filter extension (and
accepts the filter), else they are filtered here and the result says so (``filtered_client_side`` and
``notes``). A static catalog is always filtered here.

Errors are :class:`CatalogError` subclasses naming the URL (credentials removed) and what failed:
unreachable, timeout (after bounded retries), 401/403 (needs a token), other HTTP status, not JSON /
not STAC, missing asset, unknown burst.

A bearer token comes from ``token=`` or the environment variable ``PAIRSCOPE_STAC_TOKEN``. It is sent
as an ``Authorization`` header only to the catalog's host (and hosts named in ``token_hosts`` /
``PAIRSCOPE_STAC_TOKEN_HOSTS``), and never appears in a log line, an error message or a repr.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import pathlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pystac
import pystac.stac_io
import requests
from pystac_client import Client
from pystac_client.stac_api_io import StacApiIO
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from pairscope.bursts import BurstId

log = logging.getLogger(__name__)

__all__ = [
    "TOKEN_ENV",
    "TOKEN_HOSTS_ENV",
    "Acquisition",
    "AssetError",
    "BurstNotFoundError",
    "BurstSummary",
    "CatalogAuthError",
    "CatalogError",
    "CatalogFormatError",
    "CatalogHTTPError",
    "CatalogTimeoutError",
    "CatalogUnreachableError",
    "OrbitAsset",
    "PairProduct",
    "ResultList",
    "SlcAsset",
    "StacCatalog",
    "acquisition_from_item",
    "asset_band_names",
    "asset_href",
    "asset_raster_info",
    "collection_of",
    "item_assets_by_polarization",
    "item_burst_id",
    "item_polarizations",
    "list_acquisitions",
    "list_products",
    "product_from_item",
    "open_catalog",
    "redact_url",
    "search_bursts",
]

TOKEN_ENV = "PAIRSCOPE_STAC_TOKEN"
TOKEN_HOSTS_ENV = "PAIRSCOPE_STAC_TOKEN_HOSTS"
DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2
DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_ITEMS = 5000
POLARIZATIONS = ("VV", "VH", "HH", "HV")
COMPLEX_DTYPES = {"cint16", "cint32", "cfloat32", "cfloat64", "complex64", "complex128"}
_SENSITIVE_QUERY = {
    "token",
    "access_token",
    "apikey",
    "api_key",
    "key",
    "sig",
    "signature",
    "password",
}
_BURST_IN_NAME = re.compile(r"(?<![0-9A-Za-z])[Tt]?(\d{3})[-_](\d{6})[-_]([Ii][Ww][123])(?![0-9])")
_BODY_METHODS = ("POST", "PUT", "PATCH")

T = TypeVar("T")


# ----------------------------------------------------------------------------------------- errors
class CatalogError(Exception):
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
    """The answer was not valid JSON or not a STAC document."""


class AssetError(CatalogError):
    """An item lacks the asset it needs, or the asset cannot be read."""


class BurstNotFoundError(CatalogError):
    """No item of the catalog holds the requested burst."""


def redact_url(url: str) -> str:
    """``url`` without user/password and with secret-looking query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if k.lower() in _SENSITIVE_QUERY else v) for k, v in pairs], safe="*/:,"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_SECRET_IN_TEXT = re.compile(
    r"(?i)([?&](?:" + "|".join(sorted(_SENSITIVE_QUERY)) + r")=)[^&\s\"']+"
)


class _RedactQueryFilter(logging.Filter):
    """Redacts secret-looking query values in urllib3's request log lines (``GET /x?token=...``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                _SECRET_IN_TEXT.sub(r"\1***", a) if isinstance(a, str) else a for a in args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_IN_TEXT.sub(r"\1***", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryFilter())


def _host(url: str) -> str:
    """``host[:port]`` of a URL, lower case, without credentials ('' for a local path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    return parts.hostname.lower() + (f":{port}" if port is not None else "")


def _is_url(href: str) -> bool:
    parts = urlsplit(href)
    return bool(parts.scheme) and bool(parts.netloc)


def _timeout_in_chain(err: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[Any] = [err]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, requests.exceptions.Timeout) or type(e).__name__ in (
            "ReadTimeoutError",
            "ConnectTimeoutError",
            "TimeoutError",
            "timeout",
        ):
            return True
        stack.extend([getattr(e, "reason", None), e.__cause__, e.__context__])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return False


# --------------------------------------------------------------------------------------------- IO
class _Http:
    """One requests session: bearer token, timeout, bounded retries, errors mapped to
    :class:`CatalogError` subclasses. Unlike pystac-client's ``StacApiIO.request`` it never logs
    request headers (they carry the token)."""

    def __init__(
        self,
        *,
        token: str | None,
        timeout: float,
        retries: int,
        token_hosts: Iterable[str] = (),
    ) -> None:
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=0.1,
            status_forcelist=(429, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST", "HEAD"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "pairscope"
        self.timeout = timeout
        self.retries = retries
        self._secret = token or None
        # the token goes only to these hosts (the catalog's own, plus those the operator names)
        self.token_hosts: set[str] = {h.strip().lower() for h in token_hosts if h.strip()}

    def allow_host(self, url: str) -> None:
        """Send the token to the host (and port) of ``url`` too."""
        host = _host(url)
        if host:
            self.token_hosts.add(host)

    def auth_headers(self, url: str) -> dict[str, str]:
        """The Authorization header for ``url`` if the token may go to its host, else nothing."""
        if self._secret and _host(url) in self.token_hosts:
            return {"Authorization": f"Bearer {self._secret}"}
        return {}

    def __repr__(self) -> str:
        return (
            f"_Http(timeout={self.timeout}, retries={self.retries}, "
            f"token={'set' if self._secret else 'none'})"
        )

    @property
    def has_token(self) -> bool:
        return self._secret is not None

    def scrub(self, text: str) -> str:
        """``text`` with the token (if any) replaced by ``***``."""
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        method = (method or "GET").upper()
        safe = redact_url(href)
        kwargs: dict[str, Any] = {}
        if method in _BODY_METHODS:
            kwargs["json"] = parameters
        elif parameters:
            kwargs["params"] = parameters
        log.debug("%s %s", method, safe)
        try:
            resp = self.session.request(
                method,
                href,
                headers={**self.auth_headers(href), **(headers or {})},
                timeout=self.timeout,
                **kwargs,
            )
        except requests.exceptions.RequestException as err:
            if _timeout_in_chain(err):
                raise CatalogTimeoutError(
                    f"{method} {safe} timed out: no answer within {self.timeout} s "
                    f"(tried {self.retries + 1} times). Check that the server is up, or pass a "
                    "larger timeout= to open_catalog.",
                    url=safe,
                ) from None
            raise CatalogUnreachableError(
                f"cannot reach {safe} ({type(err).__name__}): check the address and that the "
                "server is running and reachable from here.",
                url=safe,
            ) from None
        status = resp.status_code
        if status in (401, 403):
            if not self._secret:
                hint = f"set the environment variable {TOKEN_ENV} or pass token= to open_catalog"
            elif _host(href) not in self.token_hosts:
                hint = (
                    f"a token is set but goes only to {', '.join(sorted(self.token_hosts))}: "
                    f"name this host in token_hosts= or {TOKEN_HOSTS_ENV} if it should get it"
                )
            else:
                hint = "the token that was sent was refused; check it has not expired"
            raise CatalogAuthError(
                f"{method} {safe} answered HTTP {status} {resp.reason}: this catalog needs an "
                f"access token ({hint}).",
                url=safe,
                status=status,
            )
        if not 200 <= status < 300:
            body = self.scrub(resp.text[:300].strip().replace("\n", " "))
            raise CatalogHTTPError(
                f"{method} {safe} answered HTTP {status} {resp.reason}"
                + (f": {body}" if body else ""),
                url=safe,
                status=status,
            )
        return resp.text

    def read_json(self, href: str, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError as err:
            snippet = self.scrub(text[:60].strip().replace("\n", " "))
            raise CatalogFormatError(
                f"{redact_url(href)} did not return valid JSON ({err}); it starts with "
                f"{snippet!r}. Is this the address of a STAC document?",
                url=redact_url(href),
            ) from None
        if not isinstance(data, dict):
            raise CatalogFormatError(
                f"{redact_url(href)} returned JSON that is not an object (a {type(data).__name__})",
                url=redact_url(href),
            )
        return data


def _href_of(source: Any) -> str:
    return str(source.href if isinstance(source, pystac.Link) else source)


class _SafeStacIO(StacApiIO):
    """pystac-client IO for STAC APIs over :class:`_Http`."""

    def __init__(self, http: _Http) -> None:
        super().__init__(headers=None, timeout=http.timeout, max_retries=None)
        self.http = http
        self.session = http.session

    def __repr__(self) -> str:
        return f"_SafeStacIO({self.http!r})"

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        return self.http.request(href, method=method, headers=headers, parameters=parameters)

    def read_json(self, source: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.http.read_json(_href_of(source), self.read_text(source, *args, **kwargs))


class _SafeStaticIO(pystac.stac_io.DefaultStacIO):
    """pystac IO for static catalogs (local files or http) over :class:`_Http`."""

    def __init__(self, http: _Http) -> None:
        super().__init__()
        self.http = http

    def __repr__(self) -> str:
        return f"_SafeStaticIO({self.http!r})"

    def read_text_from_href(self, href: str) -> str:
        if _is_url(href):
            return self.http.request(href)
        path = href[len("file://") :] if href.startswith("file://") else href
        try:
            return pathlib.Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogUnreachableError(f"no such file: {path}", url=path) from None
        except OSError as err:
            raise CatalogUnreachableError(f"cannot read {path}: {err.strerror}", url=path) from None

    def read_json(self, source: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.http.read_json(_href_of(source), self.read_text(source, *args, **kwargs))


# ---------------------------------------------------------------------------------------- results
class ResultList(list[T], Generic[T]):
    """A list of results plus how they were obtained.

    ``filtered_client_side``: some of the requested filters could not be applied by the server (or
    the catalog is static) and were applied here after reading the items; ``notes`` say which, in
    words a user interface can show; ``pages``: number of API pages read; ``items_read``.
    """

    filtered_client_side: bool
    notes: list[str]
    pages: int
    items_read: int

    def __init__(
        self,
        values: Iterable[T] = (),
        *,
        filtered_client_side: bool = False,
        notes: Sequence[str] = (),
        pages: int = 0,
        items_read: int = 0,
    ) -> None:
        super().__init__(values)
        self.filtered_client_side = filtered_client_side
        self.notes = list(notes)
        self.pages = pages
        self.items_read = items_read


@dataclass(frozen=True)
class SlcAsset:
    """Where the complex samples of one polarization are.

    ``kind``: ``"iq"`` (two real bands, ``bands`` = (i, q), 1-based), ``"complex"`` (one complex band,
    ``bands`` = (b,)), ``"hdf5"`` (dataset ``dataset`` in an HDF5 file) or ``"amplitude"`` (a detected
    GRD band: not usable for interferometry).
    """

    item: pystac.Item = field(repr=False, compare=False)
    key: str
    href: str
    kind: str
    bands: tuple[int, ...] = ()
    dataset: str | None = None


@dataclass(frozen=True)
class OrbitAsset:
    """An orbit source: ``kind`` ``"eof"`` (ESA EOF XML) or ``"annotation"`` (SAFE annotation XML)."""

    item: pystac.Item = field(repr=False, compare=False)
    key: str
    href: str
    kind: str


@dataclass(frozen=True)
class GeolocationAsset:
    """Per-pixel latitude / longitude bands (1-based) of a radar-geometry asset."""

    key: str
    href: str
    latitude_band: int
    longitude_band: int


@dataclass(frozen=True)
class Acquisition:
    """One date of one burst: the item(s), and the asset to read per polarization."""

    burst_id: str
    datetime: _dt.datetime
    platform: str | None
    item: pystac.Item = field(repr=False, compare=False)
    collection: str | None
    polarizations: tuple[str, ...]
    assets: Mapping[str, SlcAsset] = field(repr=False, compare=False)
    orbit: OrbitAsset | None = field(default=None, repr=False)
    geolocation: GeolocationAsset | None = field(default=None, repr=False)
    relative_orbit: int | None = None
    orbit_state: str | None = None
    absolute_orbit: int | None = None

    @property
    def date(self) -> np.datetime64:
        """The UTC calendar date as ``datetime64[ns]`` (midnight)."""
        day: np.datetime64 = np.datetime64(self.datetime.date().isoformat(), "ns")
        return day

    @property
    def asset_keys(self) -> dict[str, str]:
        """Polarization -> asset key."""
        return {pol: a.key for pol, a in self.assets.items()}

    @property
    def orbit_asset(self) -> str | None:
        return None if self.orbit is None else self.orbit.key

    @property
    def item_id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class BurstSummary:
    """One burst found in a catalog."""

    burst_id: str
    footprint: dict[str, Any] | None = field(repr=False, compare=False)
    bbox: tuple[float, float, float, float] | None
    date_count: int
    first_date: np.datetime64
    last_date: np.datetime64
    dates: tuple[np.datetime64, ...] = field(repr=False)
    polarizations: tuple[str, ...]
    relative_orbit: int | None
    orbit_state: str | None
    collections: tuple[str, ...]
    item_count: int


# ---------------------------------------------------------------------------------------- catalog
class StacCatalog:
    """An opened catalog: a STAC API (``kind == "api"``) or a static catalog (``"static"``)."""

    def __init__(
        self,
        url: str,
        *,
        kind: str,
        http: _Http,
        client: Client | None = None,
        root: Any = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        default_burst: str | None = None,
        default_collections: Sequence[str] | None = None,
    ) -> None:
        self.url = redact_url(url)
        self.default_collections = list(default_collections) if default_collections else None
        self.default_burst = (
            _bursts().parse_burst_id(default_burst).canonical if default_burst else None
        )
        self.kind = kind
        self._http = http
        self._client = client
        self._root = root
        self.page_size = page_size
        self._collections: dict[str, pystac.Collection] | None = None
        self._static_items: list[pystac.Item] | None = None

    def __repr__(self) -> str:
        return f"StacCatalog({self.kind}, {self.url!r})"

    @property
    def title(self) -> str:
        obj = self._client if self._client is not None else self._root
        t = getattr(obj, "title", None) or getattr(obj, "id", None)
        return str(t) if t else self.url

    @property
    def client(self) -> Client | None:
        """The pystac-client ``Client`` (API catalogs only)."""
        return self._client

    @property
    def conforms_to_filter(self) -> bool:
        """Whether the API advertises the Item Search Filter extension with CQL2 JSON."""
        if self._client is None:
            return False
        from pystac_client.conformance import ConformanceClasses

        return bool(self._client.conforms_to(ConformanceClasses.FILTER))

    # collections --------------------------------------------------------------------------
    def collections(self) -> list[pystac.Collection]:
        """The collections searched by default (all of them, unless the catalog was opened at a
        collection endpoint of an API)."""
        found = list(self._collection_map().values())
        if self.default_collections:
            found = [c for c in found if c.id in self.default_collections]
        return found

    def get_collection(self, collection_id: str) -> pystac.Collection | None:
        found = self._collection_map().get(collection_id)
        if found is None and self._client is not None:
            try:
                coll = self._client.get_collection(collection_id)
            except CatalogHTTPError as err:
                if err.status == 404:
                    return None
                raise
            if isinstance(coll, pystac.Collection) and self._collections is not None:
                self._collections[collection_id] = coll
                found = coll
        return found

    def _collection_map(self) -> dict[str, pystac.Collection]:
        if self._collections is None:
            colls: dict[str, pystac.Collection] = {}
            if self._client is not None:
                for c in self._client.get_collections():
                    if isinstance(c, pystac.Collection):
                        colls[c.id] = c
            elif isinstance(self._root, pystac.Collection):
                colls[self._root.id] = self._root
                for c in self._root.get_collections():
                    colls[c.id] = c
            elif isinstance(self._root, pystac.Catalog):
                for c in self._root.get_all_collections():
                    colls[c.id] = c
            self._collections = colls
        return self._collections

    # items --------------------------------------------------------------------------------
    def _all_static_items(self) -> list[pystac.Item]:
        if self._static_items is None:
            root = self._root
            if isinstance(root, pystac.Item):
                items = [root]
            elif isinstance(root, pystac.ItemCollection):
                items = list(root.items)
            elif isinstance(root, pystac.Catalog):
                items = list(root.get_items(recursive=True))
            else:  # pragma: no cover - open_catalog only builds the above
                raise CatalogFormatError(f"{self.url} is not a STAC catalog", url=self.url)
            for coll in self._collection_map().values():
                items.extend(_items_from_collection_assets(coll))
            if self.default_burst is not None:
                for it in items:
                    it._pairscope_default_burst = self.default_burst  # type: ignore[attr-defined]
            self._static_items = items
        return self._static_items

    def search_items(
        self,
        *,
        collections: Sequence[str] | None = None,
        bbox: Sequence[float] | None = None,
        datetime: Any = None,
        burst: BurstId | None = None,
        relative_orbit: int | None = None,
        orbit_state: str | None = None,
        max_items: int = DEFAULT_MAX_ITEMS,
    ) -> ResultList[pystac.Item]:
        """Items matching all the given filters (see the module docstring for who filters what)."""
        if not collections and self.default_collections:
            collections = self.default_collections
        start, end = _parse_datetime_range(datetime)
        if bbox is not None:
            bbox = _check_bbox(bbox)
        want_state = orbit_state.lower() if orbit_state else None
        if want_state not in (None, "ascending", "descending"):
            raise ValueError(
                f"orbit_state must be 'ascending' or 'descending', not {orbit_state!r}"
            )
        notes: list[str] = []
        if self._client is None:
            items = [
                it
                for it in self._all_static_items()
                if _item_matches(it, collections, bbox, start, end)
            ]
            client_side = True
            notes.append("static catalog: every filter was applied here after reading all items")
            pages = 0
            read = len(self._all_static_items())
        else:
            items, pages, read, client_side = self._api_search(
                collections, bbox, start, end, burst, relative_orbit, want_state, max_items, notes
            )
        if self.default_burst is not None and self._client is not None:
            for it in items:
                it._pairscope_default_burst = self.default_burst  # type: ignore[attr-defined]
        out = [
            it for it in items if _item_matches_burst_orbit(it, burst, relative_orbit, want_state)
        ]
        return ResultList(
            out, filtered_client_side=client_side, notes=notes, pages=pages, items_read=read
        )

    def _api_search(
        self,
        collections: Sequence[str] | None,
        bbox: Sequence[float] | None,
        start: _dt.datetime | None,
        end: _dt.datetime | None,
        burst: BurstId | None,
        relative_orbit: int | None,
        orbit_state: str | None,
        max_items: int,
        notes: list[str],
    ) -> tuple[list[pystac.Item], int, int, bool]:
        assert self._client is not None
        base: dict[str, Any] = {"limit": self.page_size, "max_items": max_items}
        if collections:
            base["collections"] = list(collections)
        if bbox is not None:
            base["bbox"] = list(bbox)
        if start is not None or end is not None:
            base["datetime"] = f"{_iso(start) if start else '..'}/{_iso(end) if end else '..'}"
        cql = _cql2_filter(burst, relative_orbit, orbit_state)
        client_side = False
        if cql is not None:
            if self.conforms_to_filter:
                try:
                    items, pages = self._run_search(
                        {**base, "filter": cql, "filter_lang": "cql2-json"}
                    )
                    if items or burst is None:
                        return items, pages, len(items), False
                    # The server knows no burst-id property we tried: look at everything instead.
                    notes.append(
                        "the server's burst-id properties differ from the ones pairscope queries: "
                        "burst id matched here on all items of the search"
                    )
                    cql = _cql2_filter(None, relative_orbit, orbit_state)
                    if cql is not None:
                        more, more_pages = self._run_search(
                            {**base, "filter": cql, "filter_lang": "cql2-json"}
                        )
                        return more, pages + more_pages, len(more), True
                except CatalogHTTPError as err:
                    if err.status not in (400, 422, 501):
                        raise
                    notes.append(
                        f"the server rejected the CQL2 filter (HTTP {err.status}): burst id, "
                        "relative orbit and orbit state were filtered here after reading the items"
                    )
                client_side = True
            else:
                client_side = True
                notes.append(
                    "this STAC API does not conform to the Filter extension (CQL2): burst id, "
                    "relative orbit and orbit state were filtered here after reading the items"
                )
        items, pages = self._run_search(base)
        if len(items) >= max_items:
            notes.append(
                f"stopped after {max_items} items: narrow the search (bbox, dates, collections)"
            )
        return items, pages, len(items), client_side

    def _run_search(self, params: dict[str, Any]) -> tuple[list[pystac.Item], int]:
        assert self._client is not None
        from pystac_client.exceptions import APIError

        max_items = int(params.get("max_items") or DEFAULT_MAX_ITEMS)
        items: list[pystac.Item] = []
        pages = 0
        method = "POST"
        while True:
            search = self._client.search(method=method, **params)
            try:
                for page in search.pages():
                    pages += 1
                    items.extend(page.items)
                    if len(items) >= max_items:
                        break
            except CatalogHTTPError as err:
                if err.status == 405 and method == "POST" and not items:
                    method = "GET"  # a server that only answers GET /search
                    continue
                raise
            except APIError as err:  # only raised for things our IO does not map
                raise CatalogError(
                    f"search on {self.url} failed: {self._http.scrub(str(err))}", url=self.url
                ) from None
            return items[:max_items], pages


def open_catalog(
    url_or_path: str | os.PathLike[str],
    *,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    page_size: int = DEFAULT_PAGE_SIZE,
    burst_id: str | None = None,
    token_hosts: Sequence[str] | None = None,
) -> StacCatalog:
    """Open a STAC API root or a static catalog / collection / item collection / item.

    ``token`` (else ``$PAIRSCOPE_STAC_TOKEN``) is sent as ``Authorization: Bearer``; ``timeout``
    (seconds) bounds each request, ``retries`` bounds retries on connection errors, timeouts and
    HTTP 429/502/503/504. The token goes only to the catalog's own host and to ``token_hosts``
    (else ``$PAIRSCOPE_STAC_TOKEN_HOSTS``, comma-separated ``host[:port]``), e.g. where the
    assets are served from; never to other hosts an item links to. ``page_size`` is the API search
    page ``limit``; ``burst_id`` names the
    burst of items that carry SLC bands but no burst id (openEO ``insar_preprocessing`` job results,
    whose metadata do not record the burst they were run on).
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    if token_hosts is None:
        token_hosts = os.environ.get(TOKEN_HOSTS_ENV, "").split(",")
    http = _Http(token=token, timeout=timeout, retries=retries, token_hosts=token_hosts)
    http.allow_host(os.fspath(url_or_path))
    target = os.fspath(url_or_path)
    if not _is_url(target):
        path = pathlib.Path(target).expanduser()
        if path.is_dir():
            for name in ("catalog.json", "collection.json"):
                if (path / name).is_file():
                    path = path / name
                    break
            else:
                raise CatalogUnreachableError(
                    f"{path} is a folder without catalog.json or collection.json: give the path of "
                    "a STAC catalog, collection, item collection or item",
                    url=str(path),
                )
        if not path.is_file():
            raise CatalogUnreachableError(f"no such file: {path}", url=str(path))
        target = str(path.resolve())
    safe = redact_url(target)
    static_io = _SafeStaticIO(http)
    data = static_io.read_json(target)
    kind_of = data.get("type")
    is_api = _is_url(target) and (
        any("item-search" in str(c) for c in data.get("conformsTo", []) or [])
        or any(lk.get("rel") == "search" for lk in data.get("links", []) if isinstance(lk, dict))
    )
    api_root: str | None = target if is_api else None
    only: list[str] | None = None
    if api_root is None and kind_of == "Collection" and _is_url(target):
        # the collection endpoint of an API (``.../collections/<id>``): search the API, in it
        api_root = _api_root_of_collection(data, static_io)
        only = [str(data.get("id"))] if api_root else None
    try:
        if api_root is not None:
            client = Client.open(api_root, stac_io=_SafeStacIO(http))
            return StacCatalog(
                target,
                kind="api",
                http=http,
                client=client,
                page_size=page_size,
                default_burst=burst_id,
                default_collections=only,
            )
        root: Any
        if kind_of == "FeatureCollection":
            root = pystac.ItemCollection.from_dict(data, preserve_dict=False)
            for it in root.items:
                if it.get_self_href() is None:
                    it.set_self_href(target)
        else:
            root = pystac.read_dict(data, href=target, stac_io=static_io)
            if isinstance(root, pystac.Catalog):
                root.set_root(root)
                root._stac_io = static_io
    except CatalogError:
        raise
    except (pystac.STACError, pystac.STACTypeError, KeyError, TypeError, ValueError) as err:
        raise CatalogFormatError(
            f"{safe} is JSON but not a STAC catalog, collection, item collection or item "
            f"({type(err).__name__}: {http.scrub(str(err))[:200]})",
            url=safe,
        ) from None
    if not isinstance(root, pystac.Catalog | pystac.ItemCollection | pystac.Item):
        raise CatalogFormatError(f"{safe} is not a STAC catalog", url=safe)
    return StacCatalog(
        target, kind="static", http=http, root=root, page_size=page_size, default_burst=burst_id
    )


def _api_root_of_collection(data: dict[str, Any], io: _SafeStaticIO) -> str | None:
    """The API root of a collection document served by a STAC API (it has an ``items`` endpoint
    link and a ``root`` that conforms to Item Search), else None."""
    links = [lk for lk in data.get("links", []) if isinstance(lk, dict)]
    if not any(lk.get("rel") == "items" for lk in links):
        return None
    root = next(
        (str(lk["href"]) for lk in links if lk.get("rel") == "root" and lk.get("href")), None
    )
    if root is None or not _is_url(root):
        return None
    try:
        doc = io.read_json(root)
    except CatalogError:
        return None
    if any("item-search" in str(c) for c in doc.get("conformsTo", []) or []):
        return root
    return None


def _as_catalog(catalog: StacCatalog | str | os.PathLike[str]) -> StacCatalog:
    return catalog if isinstance(catalog, StacCatalog) else open_catalog(catalog)


# ----------------------------------------------------------------------------------- item parsing
def _bursts() -> Any:
    from pairscope import bursts

    return bursts


def item_burst_id(item: pystac.Item) -> BurstId | None:
    """The burst an item holds, from its properties (every spelling real catalogs use) or, failing
    that, from a burst id in its id / title (e.g. OPERA ``..._T087-185683-IW2_...``), or the
    catalog's default burst for items without one (openEO job results). Raises ``ValueError`` when
    the properties contradict each other."""
    b = _bursts()
    props = dict(item.properties)
    found = b.burst_id_from_properties(props)
    if found is not None:
        return found  # type: ignore[no-any-return]
    finder = getattr(b, "find_burst_id", None)
    for name in (item.id, str(props.get("title", ""))):
        if finder is not None:
            hit = finder(name)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        else:
            m = _BURST_IN_NAME.search(name)
            if m:
                return b.parse_burst_id(f"T{m.group(1)}_{m.group(2)}_{m.group(3).upper()}")  # type: ignore[no-any-return]
    default = getattr(item, "_pairscope_default_burst", None)
    if default is not None:
        return b.parse_burst_id(default)  # type: ignore[no-any-return]
    return None


def _safe_burst_id(item: pystac.Item, notes: list[str] | None = None) -> BurstId | None:
    try:
        return item_burst_id(item)
    except ValueError as err:
        if notes is not None:
            notes.append(f"item {item.id} skipped: {err}")
        return None


def _pol_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    out = []
    for v in value:
        s = str(v).upper().strip()
        if s in POLARIZATIONS:
            out.append(s)
    return out


def item_polarizations(item: pystac.Item) -> list[str]:
    """``sar:polarizations`` (sar extension >= 1.0), else the older ``sar:polarization``."""
    p = item.properties
    pols = _pol_list(p.get("sar:polarizations"))
    if not pols:
        pols = _pol_list(p.get("sar:polarization"))
    if not pols:
        pols = _pol_list(p.get("polarization"))
    return pols


def _band_list(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    for key in ("bands", "eo:bands", "raster:bands"):
        v = fields.get(key)
        if isinstance(v, list) and v and all(isinstance(b, dict) for b in v):
            if any(b.get("name") for b in v):
                return v
    return []


def _item_asset_defaults(item: pystac.Item, key: str) -> dict[str, Any]:
    coll = collection_of(item)
    if coll is None:
        return {}
    ia = coll.extra_fields.get("item_assets") or {}
    d = ia.get(key)
    return dict(d) if isinstance(d, dict) else {}


def asset_band_names(item: pystac.Item, key: str) -> list[str | None]:
    """Band names of an asset from ``bands`` (STAC 1.1), ``eo:bands`` or ``raster:bands``, falling
    back to the collection's ``item_assets``."""
    asset = item.assets[key]
    bands = _band_list(asset.extra_fields)
    if not bands:
        bands = _band_list(_item_asset_defaults(item, key))
    return [b.get("name") for b in bands]


def asset_raster_info(item: pystac.Item, key: str, band: int = 1) -> dict[str, Any]:
    """``scale``, ``offset``, ``nodata``, ``data_type``, ``unit`` of one band (1-based) of an asset:
    STAC 1.1 asset fields (``raster:scale``, ``nodata``...), else ``raster:bands``/``bands`` entries,
    else the collection's ``item_assets``."""
    out: dict[str, Any] = {}
    for fields in (_item_asset_defaults(item, key), dict(item.assets[key].extra_fields)):
        for src in (fields, *_band_entry(fields, band)):
            for name in ("scale", "offset", "nodata", "data_type", "unit"):
                for k in (f"raster:{name}", name):
                    if k in src and src[k] is not None:
                        out[name] = src[k]
    return out


def _band_entry(fields: Mapping[str, Any], band: int) -> list[dict[str, Any]]:
    out = []
    for key in ("raster:bands", "bands"):
        v = fields.get(key)
        if isinstance(v, list) and len(v) >= band and isinstance(v[band - 1], dict):
            out.append(v[band - 1])
    return out


def collection_of(item: pystac.Item) -> pystac.Collection | None:
    """The item's collection (resolved through its links), or None if it cannot be found."""
    cached = getattr(item, "_pairscope_collection", None)
    if cached is not None:
        return cached if isinstance(cached, pystac.Collection) else None
    coll: pystac.Collection | None = None
    try:
        coll = item.get_collection()
    except CatalogError:
        coll = None
    except (pystac.STACError, OSError, ValueError, KeyError):
        coll = None
    item._pairscope_collection = coll if coll is not None else False  # type: ignore[attr-defined]
    return coll


def asset_href(asset: pystac.Asset) -> str:
    """Where an asset's file is: its href made absolute against its item, except that an absolute
    local path that exists here stays a local path (a catalog of local files served by an API, e.g.
    a pgstac loaded from disk, would otherwise resolve it against the API's host)."""
    href = asset.href
    if href.startswith("file://"):
        return href[len("file://") :]
    if not _is_url(href) and os.path.isabs(href) and os.path.exists(href):
        return href
    return str(asset.get_absolute_href() or href)


def _tokens(key: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Za-z]+", key.upper()) if t]


def _is_data_asset(asset: pystac.Asset) -> bool:
    roles = set(asset.roles or [])
    if roles & {"metadata", "thumbnail", "overview", "visual"} and "data" not in roles:
        return False
    return True


def _is_hdf5(asset: pystac.Asset) -> bool:
    t = (asset.media_type or "").lower()
    return "hdf5" in t or "x-hdf" in t or asset.href.lower().endswith((".h5", ".hdf5", ".he5"))


def _is_product_item(item: pystac.Item) -> bool:
    p = item.properties
    if "pairscope:reference_date" in p or "pairscope:secondary_date" in p:
        return True
    ptype = str(p.get("product:type") or p.get("sar:product_type") or "").lower()
    return "coh" in ptype or "interferogram" in ptype or "ifg" in ptype or "gunw" in ptype


def _is_static_layer(item: pystac.Item) -> bool:
    """OPERA ``*-STATIC`` products: per-burst geometry layers, not acquisitions."""
    p = item.properties
    kinds = (item.id, str(p.get("processingLevel", "")), str(p.get("product:type", "")))
    return any("-STATIC" in k.upper() or k.upper().endswith("STATIC") for k in kinds)


def _slc_like(item: pystac.Item) -> bool:
    p = item.properties
    ptype = str(p.get("sar:product_type") or p.get("product:type") or "").upper()
    return "SLC" in ptype or "CSLC" in item.id.upper() or "SLC" in item.id.upper()


def _find_slc_assets(
    item: pystac.Item, pols: list[str], subswath: str | None = None
) -> tuple[dict[str, SlcAsset], GeolocationAsset | None]:
    found: dict[str, SlcAsset] = {}
    geo: GeolocationAsset | None = None
    keys = list(item.assets)
    if subswath is not None:  # scene items (iw1-vv, iw2-vv, ...): the burst's subswath first
        keys.sort(key=lambda k: subswath not in _tokens(k))
    for key in keys:
        asset = item.assets[key]
        if not _is_data_asset(asset):
            continue
        href = asset_href(asset)
        names = [str(n) if n else "" for n in asset_band_names(item, key)]
        lower = [n.lower() for n in names]
        # per-pixel geolocation bands
        lat_i = next((i for i, n in enumerate(lower) if n in ("grid_lat", "latitude", "lat")), None)
        lon_i = next(
            (i for i, n in enumerate(lower) if n in ("grid_lon", "longitude", "lon")), None
        )
        if lat_i is not None and lon_i is not None and geo is None:
            geo = GeolocationAsset(key, href, lat_i + 1, lon_i + 1)
        # i/q band pairs
        iq_found = False
        for pol in POLARIZATIONS:
            i_i = _index_of(lower, (f"i_{pol.lower()}", f"{pol.lower()}_i", f"{pol.lower()}_real"))
            q_i = _index_of(lower, (f"q_{pol.lower()}", f"{pol.lower()}_q", f"{pol.lower()}_imag"))
            if i_i is not None and q_i is not None:
                iq_found = True
                found.setdefault(pol, SlcAsset(item, key, href, "iq", (i_i + 1, q_i + 1)))
        if iq_found:
            continue
        if _is_hdf5(asset):
            h5_pols = [p for p in POLARIZATIONS if p in _tokens(key)] or pols
            for pol in h5_pols:
                found.setdefault(pol, SlcAsset(item, key, href, "hdf5", (), f"/data/{pol}"))
            continue
        media = (asset.media_type or "").lower()
        if media and "tif" not in media and "jp2" not in media and "zarr" not in media:
            continue
        dtype = str(asset_raster_info(item, key).get("data_type", "")).lower()
        key_pols = [p for p in POLARIZATIONS if p in _tokens(key)]
        name_pols = [n.upper() for n in names if n.upper() in POLARIZATIONS]
        asset_pols = key_pols or name_pols or (pols if len(pols) == 1 and len(item.assets) else [])
        if len(asset_pols) != 1:
            continue
        pol = asset_pols[0]
        if dtype in COMPLEX_DTYPES or (not dtype and _slc_like(item)):
            found.setdefault(pol, SlcAsset(item, key, href, "complex", (1,)))
        elif not _is_product_item(item):
            found.setdefault(pol, SlcAsset(item, key, href, "amplitude", (1,)))
    return found, geo


def item_assets_by_polarization(item: pystac.Item) -> dict[str, SlcAsset]:
    """Polarization -> the asset (and bands) holding its samples, for any layout pairscope reads."""
    return _find_slc_assets(item, item_polarizations(item))[0]


def _index_of(names: list[str], candidates: tuple[str, ...]) -> int | None:
    for c in candidates:
        if c in names:
            return names.index(c)
    return None


def _find_orbit_asset(
    item: pystac.Item, subswath: str | None, pols: list[str]
) -> OrbitAsset | None:
    annotation: list[tuple[int, str, pystac.Asset]] = []
    for key, asset in item.assets.items():
        href = asset_href(asset)
        roles = set(asset.roles or [])
        low = key.lower()
        if "orbit" in roles or low in ("orbit", "eof") or href.upper().endswith(".EOF"):
            return OrbitAsset(item, key, href, "eof")
        if (
            "annotation" in roles
            or low.startswith(("schema-product", "annotation", "products_"))
            or "/annotation/" in href
            and "calibration" not in href
            and "noise" not in href
        ) and href.lower().endswith(".xml"):
            toks = _tokens(key)
            score = (subswath is not None and subswath in toks) * 2 + any(p in toks for p in pols)
            annotation.append((int(score), key, asset))
    if annotation:
        annotation.sort(key=lambda t: -t[0])
        _, key, asset = annotation[0]
        return OrbitAsset(item, key, asset_href(asset), "annotation")
    for key, asset in item.assets.items():  # OPERA CSLC: state vectors in metadata/orbit
        if _is_hdf5(asset) and _is_data_asset(asset):
            return OrbitAsset(item, key, asset_href(asset), "hdf5")
    return None


_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2}))?")


def _items_from_collection_assets(coll: pystac.Collection) -> list[pystac.Item]:
    """openEO job results keep one GeoTIFF per date as *collection* assets (``openEO_2024-08-09Z.tif``
    with bands ``i_VV, q_VV, grid_lat, grid_lon``): one item per such asset, dated from the asset's
    ``datetime`` or its name, footprint from the collection extent."""
    out = []
    bbox = coll.extent.spatial.bboxes[0] if coll.extent.spatial.bboxes else None
    for key, asset in coll.assets.items():
        names = [str(b.get("name", "")).lower() for b in _band_list(asset.extra_fields)]
        if not any(n.startswith(("i_", "q_")) for n in names):
            continue
        when: _dt.datetime | None = None
        if asset.extra_fields.get("datetime"):
            when = _parse_instant(asset.extra_fields["datetime"], end=False)
        else:
            m = _DATE_IN_NAME.search(key) or _DATE_IN_NAME.search(asset.href.rsplit("/", 1)[-1])
            if m:
                y, mo, d, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
                when = _dt.datetime(y, mo, d, hh, mm, ss, tzinfo=_dt.UTC)
        if when is None:
            continue
        geom = None
        if bbox is not None:
            w, s_, e, n = bbox[0], bbox[1], bbox[-2], bbox[-1]
            geom = {"type": "Polygon", "coordinates": [[[w, s_], [e, s_], [e, n], [w, n], [w, s_]]]}
        props = {
            k: v
            for k, v in (coll.summaries.to_dict() if coll.summaries else {}).items()
            if not isinstance(v, dict | list) or k == "sar:polarizations"
        }
        item = pystac.Item(
            id=f"{coll.id}:{key}",
            geometry=geom,
            bbox=[bbox[0], bbox[1], bbox[-2], bbox[-1]] if bbox is not None else None,
            datetime=when,
            properties=props,
            collection=coll.id,
        )
        new_asset = asset.clone()
        new_asset.href = asset_href(asset)
        item.add_asset(key, new_asset)
        item._pairscope_collection = coll  # type: ignore[attr-defined]
        out.append(item)
    return out


def _platform(item: pystac.Item) -> str | None:
    p = item.properties.get("platform")
    if p:
        return str(p).lower().replace("sentinel1", "sentinel-1")
    m = re.match(r"^S1([ABCD])[_-]", item.id)
    if m:
        return f"sentinel-1{m.group(1).lower()}"
    return None


def _item_datetime(item: pystac.Item) -> _dt.datetime | None:
    d = item.datetime or item.common_metadata.start_datetime
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return d.astimezone(_dt.UTC)


def acquisition_from_item(
    item: pystac.Item, burst: BurstId | None = None, *, notes: list[str] | None = None
) -> Acquisition | None:
    """Parse one item into an :class:`Acquisition`, or None if it holds no identifiable burst or is
    a pair product (coherence, interferogram). Why an item was skipped goes to ``notes``."""
    if _is_product_item(item) or _is_static_layer(item):
        return None
    if burst is None:
        burst = _safe_burst_id(item, notes)
    if burst is None:
        return None
    when = _item_datetime(item)
    if when is None:
        return None
    p = item.properties
    pols = item_polarizations(item)
    if not pols:
        m = re.search(r"_(VV|VH|HH|HV)_", item.id)
        if m:
            pols = [m.group(1)]
    assets, geo = _find_slc_assets(item, pols, burst.subswath)
    if not pols:
        pols = sorted(assets)
    rel = p.get("sat:relative_orbit")
    state = next(
        (p[k] for k in ("sat:orbit_state", "flightDirection", "orbit_pass_direction") if p.get(k)),
        None,
    )
    abs_orbit = p.get("sat:absolute_orbit")
    return Acquisition(
        burst_id=burst.canonical,
        datetime=when,
        platform=_platform(item),
        item=item,
        collection=item.collection_id,
        polarizations=tuple(pols),
        assets=assets,
        orbit=_find_orbit_asset(item, burst.subswath, pols),
        geolocation=geo,
        relative_orbit=int(rel) if rel is not None else int(burst.relative_orbit),
        orbit_state=str(state).lower() if state else None,
        absolute_orbit=int(abs_orbit) if abs_orbit is not None else None,
    )


# --------------------------------------------------------------------------------- filters (local)
def _parse_instant(value: Any, *, end: bool) -> _dt.datetime | None:
    if value is None or value == "" or value == "..":
        return None
    if isinstance(value, np.datetime64):
        value = str(value.astype("datetime64[us]"))
    if isinstance(value, _dt.datetime):
        d = value
    elif isinstance(value, _dt.date):
        d = _dt.datetime(value.year, value.month, value.day)
        if end:
            d = d + _dt.timedelta(days=1) - _dt.timedelta(microseconds=1)
    else:
        s = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) or re.fullmatch(r"\d{8}", s):
            day = _dt.datetime.strptime(s.replace("-", ""), "%Y%m%d")
            d = day + _dt.timedelta(days=1) - _dt.timedelta(microseconds=1) if end else day
        else:
            try:
                d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"cannot read {value!r} as a date or time: use e.g. '2024-08-09', "
                    "'2024-08-09T05:00:00Z' or a datetime"
                ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return d.astimezone(_dt.UTC)


def _parse_datetime_range(value: Any) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """``None``, ``"start/end"`` (``..`` for open), a single date (that whole day), or a
    (start, end) pair of str / date / datetime / datetime64 / None; date-only ends are inclusive."""
    if value is None:
        return None, None
    if isinstance(value, str) and "/" in value:
        a, b = value.split("/", 1)
        s, e = _parse_instant(a, end=False), _parse_instant(b, end=True)
    elif isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"datetime range needs (start, end), got {value!r}")
        s, e = _parse_instant(value[0], end=False), _parse_instant(value[1], end=True)
    else:
        s, e = _parse_instant(value, end=False), _parse_instant(value, end=True)
        if isinstance(value, _dt.datetime) or (isinstance(value, str) and "T" in value):
            e = s
    if s is not None and e is not None and e < s:
        raise ValueError(f"datetime range ends ({_iso(e)}) before it starts ({_iso(s)})")
    return s, e


def _iso(d: _dt.datetime) -> str:
    return d.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bbox) != 4:
        raise ValueError(f"bbox must be (west, south, east, north), got {list(bbox)!r}")
    w, s, e, n = (float(v) for v in bbox)
    if s > n:
        raise ValueError(
            f"bbox south {s} is north of north {n}: order is (west, south, east, north)"
        )
    return w, s, e, n


def _item_matches(
    item: pystac.Item,
    collections: Sequence[str] | None,
    bbox: Sequence[float] | None,
    start: _dt.datetime | None,
    end: _dt.datetime | None,
) -> bool:
    if collections and item.collection_id not in collections:
        return False
    if start is not None or end is not None:
        t0 = item.common_metadata.start_datetime or item.datetime
        t1 = item.common_metadata.end_datetime or item.datetime
        if t0 is None or t1 is None:
            return False
        t0 = t0 if t0.tzinfo else t0.replace(tzinfo=_dt.UTC)
        t1 = t1 if t1.tzinfo else t1.replace(tzinfo=_dt.UTC)
        if start is not None and t1 < start:
            return False
        if end is not None and t0 > end:
            return False
    if bbox is not None:
        return _intersects(item, bbox)
    return True


def _intersects(item: pystac.Item, bbox: Sequence[float]) -> bool:
    w, s, e, n = bbox
    if item.geometry is not None:
        try:
            import shapely.geometry
        except ImportError:  # pragma: no cover - shapely comes with the geo stack
            pass
        else:
            return bool(
                shapely.geometry.shape(item.geometry).intersects(shapely.geometry.box(w, s, e, n))
            )
    if item.bbox is None:
        return False
    iw, is_, ie, in_ = item.bbox[0], item.bbox[1], item.bbox[-2], item.bbox[-1]
    return not (ie < w or iw > e or in_ < s or is_ > n)


def _item_matches_burst_orbit(
    item: pystac.Item, burst: BurstId | None, relative_orbit: int | None, orbit_state: str | None
) -> bool:
    p = item.properties
    found = None
    if burst is not None or relative_orbit is not None:
        found = _safe_burst_id(item)
    if burst is not None and (found is None or found.canonical != burst.canonical):
        return False
    if relative_orbit is not None:
        rel = p.get("sat:relative_orbit")
        if rel is None and found is not None:
            rel = found.relative_orbit
        if rel is None or int(rel) != int(relative_orbit):
            return False
    if orbit_state is not None and str(p.get("sat:orbit_state", "")).lower() != orbit_state:
        return False
    return True


def _cql2_filter(
    burst: BurstId | None, relative_orbit: int | None, orbit_state: str | None
) -> dict[str, Any] | None:
    def eq(prop: str, value: Any) -> dict[str, Any]:
        return {"op": "=", "args": [{"property": prop}, value]}

    args: list[dict[str, Any]] = []
    if burst is not None:
        args.append(
            {
                "op": "or",
                "args": [
                    eq("pairscope:burst_id", burst.canonical),
                    eq("s1:asf_burst_id", burst.asf),
                    eq("fullBurstID", burst.asf),
                    eq("s1:opera_burst_id", burst.opera),
                    eq("opera:burst_id", burst.opera),
                    eq("opera:burst_id", burst.canonical),
                    eq("OPERA_BURST_ID", burst.canonical),
                    eq("operaBurstID", burst.canonical),
                    {
                        "op": "and",
                        "args": [
                            eq("s1:burst_id", int(burst.esa_burst_id)),
                            eq("s1:subswath", burst.subswath),
                        ],
                    },
                ],
            }
        )
    if relative_orbit is not None:
        args.append(eq("sat:relative_orbit", int(relative_orbit)))
    if orbit_state is not None:
        args.append(eq("sat:orbit_state", orbit_state))
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


# ------------------------------------------------------------------------------------- public API
def _group_acquisitions(items: Iterable[pystac.Item], notes: list[str]) -> list[Acquisition]:
    by_key: dict[tuple[str, _dt.date], Acquisition] = {}
    skipped_products = 0
    skipped_static = 0
    skipped_no_burst = 0
    for item in items:
        if _is_product_item(item):
            skipped_products += 1
            continue
        if _is_static_layer(item):
            skipped_static += 1
            continue
        n_notes = len(notes)
        acq = acquisition_from_item(item, notes=notes)
        if acq is None:
            skipped_no_burst += len(notes) == n_notes
            continue
        k = (acq.burst_id, acq.datetime.date())
        prev = by_key.get(k)
        if prev is None:
            by_key[k] = acq
            continue
        merged_assets = dict(prev.assets)
        for pol, a in acq.assets.items():
            merged_assets.setdefault(pol, a)
        pols = tuple(dict.fromkeys((*prev.polarizations, *acq.polarizations)))
        by_key[k] = Acquisition(
            burst_id=prev.burst_id,
            datetime=prev.datetime,
            platform=prev.platform or acq.platform,
            item=prev.item,
            collection=prev.collection,
            polarizations=pols,
            assets=merged_assets,
            orbit=prev.orbit or acq.orbit,
            geolocation=prev.geolocation or acq.geolocation,
            relative_orbit=prev.relative_orbit,
            orbit_state=prev.orbit_state or acq.orbit_state,
            absolute_orbit=prev.absolute_orbit,
        )
    if skipped_products:
        notes.append(
            f"{skipped_products} pair-product item(s) (coherence etc.) are not acquisitions"
        )
    if skipped_static:
        notes.append(
            f"{skipped_static} static-layer item(s) (geometry, no date) are not acquisitions"
        )
    if skipped_no_burst:
        notes.append(f"{skipped_no_burst} item(s) without a burst id (scene products) were skipped")
    return sorted(by_key.values(), key=lambda a: (a.burst_id, a.datetime))


def search_bursts(
    catalog: StacCatalog | str | os.PathLike[str],
    *,
    bbox: Sequence[float] | None = None,
    datetime: Any = None,
    collections: Sequence[str] | None = None,
    orbit_state: str | None = None,
    relative_orbit: int | None = None,
    polarization: str | None = None,
    burst_id: str | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> ResultList[BurstSummary]:
    """The bursts of a catalog matching the filters, one :class:`BurstSummary` each, sorted by id."""
    cat = _as_catalog(catalog)
    burst = _bursts().parse_burst_id(burst_id) if burst_id is not None else None
    items = cat.search_items(
        collections=collections,
        bbox=bbox,
        datetime=datetime,
        burst=burst,
        relative_orbit=relative_orbit,
        orbit_state=orbit_state,
        max_items=max_items,
    )
    notes = list(items.notes)
    acqs = _group_acquisitions(items, notes)
    pol = _check_pol(polarization)
    if pol is not None:
        acqs = [a for a in acqs if pol in a.polarizations]
    groups: dict[str, list[Acquisition]] = {}
    for a in acqs:
        groups.setdefault(a.burst_id, []).append(a)
    out = []
    for bid, group in sorted(groups.items()):
        dates = tuple(sorted({a.date for a in group}))
        pols = tuple(p for p in POLARIZATIONS if any(p in a.polarizations for a in group))
        geom_item = group[-1].item
        bb = geom_item.bbox
        out.append(
            BurstSummary(
                burst_id=bid,
                footprint=geom_item.geometry,
                bbox=(bb[0], bb[1], bb[-2], bb[-1]) if bb else None,
                date_count=len(dates),
                first_date=dates[0],
                last_date=dates[-1],
                dates=dates,
                polarizations=pols,
                relative_orbit=group[0].relative_orbit,
                orbit_state=next((a.orbit_state for a in group if a.orbit_state), None),
                collections=tuple(sorted({a.collection for a in group if a.collection})),
                item_count=sum(1 for _ in group),
            )
        )
    return ResultList(
        out,
        filtered_client_side=items.filtered_client_side,
        notes=notes,
        pages=items.pages,
        items_read=items.items_read,
    )


def _check_pol(polarization: str | None) -> str | None:
    if polarization is None:
        return None
    pol = polarization.upper()
    if pol not in POLARIZATIONS:
        raise ValueError(
            f"polarization must be one of {', '.join(POLARIZATIONS)}, not {polarization!r}"
        )
    return pol


def list_acquisitions(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str,
    *,
    datetime: Any = None,
    polarization: str | None = None,
    collections: Sequence[str] | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> ResultList[Acquisition]:
    """The dates of one burst (any spelling of its id), sorted by time, one :class:`Acquisition`
    per date (items of one burst and date, e.g. one per polarization, are merged).

    Raises :class:`BurstNotFoundError` when the catalog holds no item of the burst at all."""
    cat = _as_catalog(catalog)
    burst = _bursts().parse_burst_id(burst_id)
    items = cat.search_items(
        collections=collections, datetime=datetime, burst=burst, max_items=max_items
    )
    notes = list(items.notes)
    acqs = _group_acquisitions(items, notes)
    if not acqs and datetime is None:
        raise BurstNotFoundError(
            f"burst {burst.canonical} is not in {cat.url}"
            + (f" (collections {', '.join(collections)})" if collections else "")
            + ": check the id or pick one from search_bursts()",
            url=cat.url,
        )
    pol = _check_pol(polarization)
    if pol is not None:
        acqs = [a for a in acqs if pol in a.polarizations or pol in a.assets]
    return ResultList(
        acqs,
        filtered_client_side=items.filtered_client_side,
        notes=notes,
        pages=items.pages,
        items_read=items.items_read,
    )


@dataclass(frozen=True)
class PairProduct:
    """A published pair product (coherence, interferogram) of one burst: its dates and data assets."""

    burst_id: str | None
    reference: np.datetime64
    secondary: np.datetime64
    item: pystac.Item = field(repr=False, compare=False)
    collection: str | None
    assets: tuple[str, ...]

    @property
    def temporal_baseline(self) -> int:
        """Days between the two dates."""
        return int((self.secondary - self.reference) // np.timedelta64(1, "D"))


def _day(value: Any) -> np.datetime64 | None:
    d = _parse_instant(value, end=False) if value is not None else None
    if d is None:
        return None
    day: np.datetime64 = np.datetime64(d.date().isoformat(), "ns")
    return day


def product_from_item(item: pystac.Item) -> PairProduct | None:
    """The pair an item is a product of (``pairscope:reference_date``/``secondary_date``, else its
    ``start_datetime``/``end_datetime``), or None if it is not a pair product."""
    if not _is_product_item(item):
        return None
    p = item.properties
    ref = _day(p.get("pairscope:reference_date") or p.get("start_datetime"))
    sec = _day(p.get("pairscope:secondary_date") or p.get("end_datetime"))
    if ref is None or sec is None:
        return None
    burst = _safe_burst_id(item)
    keys = tuple(k for k, a in item.assets.items() if "data" in (a.roles or []))
    return PairProduct(
        burst_id=burst.canonical if burst is not None else None,
        reference=ref,
        secondary=sec,
        item=item,
        collection=item.collection_id,
        assets=keys,
    )


def list_products(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str | None = None,
    *,
    collections: Sequence[str] | None = None,
    datetime: Any = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> ResultList[PairProduct]:
    """Published pair products (e.g. Terrascope-format coherence) of one burst (any spelling) or of
    all bursts, sorted by (reference, secondary). Read them with :func:`pairscope.stack.open_product`."""
    cat = _as_catalog(catalog)
    burst = _bursts().parse_burst_id(burst_id) if burst_id is not None else None
    items = cat.search_items(
        collections=collections, datetime=datetime, burst=burst, max_items=max_items
    )
    found = [p for p in (product_from_item(it) for it in items) if p is not None]
    found.sort(key=lambda p: (p.burst_id or "", p.reference, p.secondary, p.item.id))
    return ResultList(
        found,
        filtered_client_side=items.filtered_client_side,
        notes=items.notes,
        pages=items.pages,
        items_read=items.items_read,
    )


def iter_items(catalog: StacCatalog) -> Iterator[pystac.Item]:
    """Every item of a catalog (API: a search over all collections, paged)."""
    yield from catalog.search_items()
