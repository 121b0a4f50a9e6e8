"""HTTP for catalogs: bearer tokens sent only to named hosts, one redaction of secrets in URLs, logs
and messages, bounded retries, timeouts and sizes, the allow-list resolver of a served app, and the
pystac / pystac-client IO classes over it.

A token comes from ``token=`` or ``PAIRSCOPE_STAC_TOKEN``; it is sent as an ``Authorization`` header
only to the catalog's host (and hosts in ``token_hosts`` / ``PAIRSCOPE_STAC_TOKEN_HOSTS``) and never
appears in a log line, an error message or a repr. URLs that carry a user name or password are
refused: requests would send them as Basic auth in place of the token, and they would be shown.

:class:`LocationPolicy` is the one resolver of a served app (DESIGN.md, "Security of a served
app"): every location the server touches, whether typed, taken from the page URL, or found inside a
catalog document (child, item, asset links, API pages, redirects), is percent-decoded, has its dot
segments removed (RFC 3986) and must then lie under an allowed root with the same scheme, host and
port; a catalog opened from a URL never leads to a local path, and GDAL ``/vsi*`` paths are never
accepted. Refusals are :class:`~pairscope.errors.LocationRefusedError` naming the location through
:func:`redact_url`, never the contents of a file.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

import pystac
import pystac.stac_io
import requests
import requests.auth
from pystac_client.stac_api_io import StacApiIO
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pairscope.errors import (
    CatalogAuthError,
    CatalogFormatError,
    CatalogHTTPError,
    CatalogTimeoutError,
    CatalogUnreachableError,
    LocationRefusedError,
)

log = logging.getLogger(__name__)

TOKEN_ENV = "PAIRSCOPE_STAC_TOKEN"


TOKEN_HOSTS_ENV = "PAIRSCOPE_STAC_TOKEN_HOSTS"


DEFAULT_TIMEOUT = 20.0


DEFAULT_RETRIES = 2


#: Deepest JSON nesting accepted in a document (STAC needs about ten levels).
MAX_JSON_DEPTH = 100

#: Largest document read (bytes): a catalog, collection, item or API page.
MAX_DOCUMENT_BYTES = 64 * 2**20

#: Redirects followed per request when a :class:`LocationPolicy` checks each hop.
MAX_REDIRECTS = 5

#: Longest location accepted by :class:`LocationPolicy`.
MAX_LOCATION_CHARS = 8192


_SENSITIVE_QUERY = frozenset(
    {
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "session_token",
        "apikey",
        "api_key",
        "api-key",
        "key",
        "sig",
        "signature",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "auth",
        "authorization",
        "jwt",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
    }
)


_BODY_METHODS = ("POST", "PUT", "PATCH")


def _redact_pairs(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode(
        [(k, "***" if k.lower() in _SENSITIVE_QUERY else v) for k, v in pairs], safe="*/:,"
    )


def has_secret_query(url: str) -> bool:
    """Whether ``url`` carries a secret-looking query parameter (``token=``, ``sig=``...)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return False
    return any(k.lower() in _SENSITIVE_QUERY for k, _ in parse_qsl(query, keep_blank_values=True))


def has_userinfo(url: str) -> bool:
    """Whether ``url`` names a user (and maybe a password) before its host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url
    return bool(parts.scheme) and "@" in parts.netloc


def redact_url(url: str) -> str:
    """``url`` as pairscope shows it anywhere (messages, logs, ``url`` attributes, exported files):
    without user and password, secret-looking query and fragment values replaced by ``***``.
    Local paths come back unchanged."""
    text = os.fspath(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc.rpartition("@")[2]
    query = _redact_pairs(parts.query) if parts.query else ""
    fragment = parts.fragment
    if fragment and "=" in fragment:
        fragment = _redact_pairs(fragment)
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


_SECRET_IN_TEXT = re.compile(
    r"(?i)([?&#](?:" + "|".join(re.escape(k) for k in sorted(_SENSITIVE_QUERY)) + r")=)[^&\s\"']+"
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


def is_url(href: str) -> bool:
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


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests deeper than ``limit`` levels (checked without
    recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


# -------------------------------------------------------------------------------------- locations
def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/a/b/../c/./d`` -> ``/a/c/d``; never climbs above the root."""
    out: list[str] = []
    rest = path
    while rest:
        if rest.startswith("../"):
            rest = rest[3:]
        elif rest.startswith("./"):
            rest = rest[2:]
        elif rest.startswith("/./"):
            rest = rest[2:]
        elif rest == "/.":
            rest = "/"
        elif rest.startswith("/../"):
            rest = rest[3:]
            if out:
                out.pop()
        elif rest == "/..":
            rest = "/"
            if out:
                out.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            cut = rest.find("/", 1 if rest.startswith("/") else 0)
            if cut < 0:
                out.append(rest)
                rest = ""
            else:
                out.append(rest[:cut])
                rest = rest[cut:]
    return "".join(out)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/:@!$&'()*+,;=~"
_ENCODED_TRICKS = ("%2e", "%2f", "%5c", "%00")


class LocationRefused(LocationRefusedError):
    """A refusal of :class:`LocationPolicy`: ``location`` (redacted) and ``reason`` in words."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = redact_url(location)
        self.reason = reason
        super().__init__(f"location {self.location!r} is refused: {reason}")


def _refuse(location: str, reason: str) -> LocationRefused:
    return LocationRefused(location, reason)


@dataclass(frozen=True)
class Location:
    """A location after normalisation: a URL (``scheme`` http/https, lower-case ``host``, explicit
    ``port``, decoded ``path`` without dot segments) or a local path (``scheme == ""``, ``path`` the
    real path with symbolic links followed). ``text`` is what to open: the URL re-encoded, or the
    path."""

    scheme: str
    host: str
    port: int
    path: str
    text: str

    @property
    def is_local(self) -> bool:
        return not self.scheme

    def under(self, root: Location, *, exact: bool = False) -> bool:
        """Whether this location is ``root`` or (unless ``exact``) below it."""
        if (self.scheme, self.host, self.port) != (root.scheme, root.host, root.port):
            return False
        if exact:
            return self.path == root.path
        base = root.path.rstrip("/")
        return self.path.rstrip("/") == base or self.path.startswith(base + "/")


def _is_gdal_path(path: str) -> bool:
    return path.startswith("/vsi") or path.startswith("\\vsi")


def _local_path_of(href: str) -> str | None:
    """The local path ``href`` names (``file://`` URL or plain path), else None."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "file":
        return unquote(parts.path)
    if not scheme or (len(scheme) == 1 and os.name == "nt"):
        return href
    return None


def parse_location(href: str | os.PathLike[str], base: str | None = None) -> Location:
    """Normalise ``href`` (relative ones against ``base``, a document's location) or raise
    :class:`LocationRefusedError`: unsupported scheme, credentials in the URL, GDAL ``/vsi*`` path,
    control characters, encoded dot segments left after decoding."""
    text = os.fspath(href)
    if len(text) > MAX_LOCATION_CHARS:
        raise _refuse(text[:200] + "...", f"longer than {MAX_LOCATION_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _refuse(text.encode("unicode_escape").decode("ascii"), "it holds control characters")
    if _is_gdal_path(text):
        raise _refuse(text, "GDAL virtual file system paths (/vsi...) are never opened")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise _refuse(text, "it is not a valid URL") from None
    scheme = parts.scheme.lower()
    if base is not None and not (scheme in ("http", "https", "file") or os.path.isabs(text)):
        if scheme and not (len(scheme) == 1 and os.name == "nt"):
            raise _refuse(
                text, f"the scheme {scheme!r} is not supported (use http, https or a path)"
            )
        base_local = _local_path_of(base)
        if base_local is not None:
            text = os.path.join(os.path.dirname(base_local), text)
        else:
            text = urljoin(base, text)
        return parse_location(text)
    if base is not None and scheme == "" and os.path.isabs(text) and is_url(base):
        # an absolute path inside a remote document is a path on the document's host
        return parse_location(urljoin(base, text))
    if scheme in ("http", "https"):
        return _parse_url(text, scheme)
    local = _local_path_of(text)
    if local is None:
        raise _refuse(text, f"the scheme {scheme!r} is not supported (use http, https or a path)")
    if scheme == "file" and parts.netloc.lower() not in ("", "localhost"):
        raise _refuse(text, "file URLs on another host are not supported")
    if "\x00" in local:
        raise _refuse(text, "it holds a NUL character")
    if _is_gdal_path(local):
        raise _refuse(text, "GDAL virtual file system paths (/vsi...) are never opened")
    real = os.path.realpath(os.path.abspath(local))
    if _is_gdal_path(real):
        raise _refuse(text, "GDAL virtual file system paths (/vsi...) are never opened")
    return Location("", "", 0, real, real)


def _parse_url(text: str, scheme: str) -> Location:
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise _refuse(
            text,
            "URLs with a user name or password are not accepted (they would be shown and sent "
            f"instead of the token): remove 'user:password@' and give the token in {TOKEN_ENV}",
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise _refuse(text, "the URL has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise _refuse(text, "the URL's port is not a number") from None
    path = unquote(parts.path)
    low = path.lower()
    if "\\" in path or any(t in low for t in _ENCODED_TRICKS) or "\x00" in path:
        raise _refuse(text, "its path holds encoded dots, slashes or backslashes")
    path = remove_dot_segments(path) or "/"
    if not path.startswith("/"):
        path = "/" + path
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if parts.port is None else f"{shown_host}:{port}"
    canonical = urlunsplit((scheme, netloc, quote(path, safe=_PATH_SAFE), parts.query, ""))
    return Location(scheme, host, port, path, canonical)


def _is_remote(href: str | None) -> bool:
    if href is None:
        return False
    try:
        return urlsplit(href).scheme.lower() in ("http", "https")
    except ValueError:
        return False


@dataclass(frozen=True)
class AllowedRoot:
    """One allowed location: a URL prefix, a local folder, or (``exact``) one file or URL."""

    location: Location
    exact: bool = False

    @classmethod
    def of(cls, text: str | os.PathLike[str], *, exact: bool | None = None) -> AllowedRoot:
        """``text`` as a root: a URL is a prefix, an existing local file is exact, any other local
        path is a folder (``exact`` overrides)."""
        raw = os.fspath(text).strip()
        if not raw:
            raise ValueError("an allowed root cannot be empty")
        if _local_path_of(raw) == raw:
            raw = os.path.expanduser(raw)
        loc = parse_location(raw)
        if exact is None:
            exact = loc.is_local and os.path.isfile(loc.path)
        return cls(loc, exact=exact)

    def covers(self, loc: Location) -> bool:
        return loc.under(self.location, exact=self.exact)


def url_folder(url: str) -> str:
    """The folder a URL's links are allowed under: the URL itself when its last segment names no
    file (``.../stac`` or ``.../stac/``), else its parent (``.../stac/catalog.json`` ->
    ``.../stac/``)."""
    parts = urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if parts.path.endswith("/") or "." not in last:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return urlunsplit((parts.scheme, parts.netloc, posixpath.dirname(parts.path) + "/", "", ""))


_FOLLOWED_RELS = frozenset(
    {"self", "root", "parent", "child", "item", "items", "collection", "data", "search", "next",
     "prev", "previous", "first", "last", "conformance"}
)  # fmt: skip


class LocationPolicy:
    """The allow-list resolver: which locations a served app may touch.

    ``roots``: URL prefixes, local folders or files under which any location may be read once
    reached from an allowed catalog (documents by following links, asset files). ``entries``: what
    a visitor may open directly (default: the roots); a local folder entry admits only JSON
    documents below it, an exact file entry only that file. ``local=False``: no local path at all
    (the policy of a catalog opened from a URL, see :meth:`for_catalog`).

    :meth:`resolve` checks a location reached from a catalog, :meth:`check_entry` one a visitor asks
    for; both return the normalised location to open and raise :class:`LocationRefusedError`.
    """

    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str] | AllowedRoot] = (),
        *,
        entries: Iterable[str | os.PathLike[str] | AllowedRoot] | None = None,
        local: bool = True,
    ) -> None:
        self.roots: tuple[AllowedRoot, ...] = tuple(
            r if isinstance(r, AllowedRoot) else AllowedRoot.of(r) for r in roots
        )
        self.entries: tuple[AllowedRoot, ...] = (
            self.roots
            if entries is None
            else tuple(e if isinstance(e, AllowedRoot) else AllowedRoot.of(e) for e in entries)
        )
        self.local = local

    def __repr__(self) -> str:
        return (
            f"LocationPolicy({len(self.roots)} roots, {len(self.entries)} entries, "
            f"local={self.local})"
        )

    def resolve(self, href: str | os.PathLike[str], base: str | None = None) -> str:
        """The normalised location of ``href`` (relative to ``base``, the document it was found
        in) if it lies under an allowed root; else :class:`LocationRefusedError`."""
        loc = parse_location(href, base)
        if loc.is_local and _is_remote(base):
            raise _refuse(
                os.fspath(href),
                f"a remote document ({redact_url(str(base))}) may not lead to a local path",
            )
        if loc.is_local and not self.local:
            raise _refuse(
                os.fspath(href),
                "this catalog was opened from a URL: it may not lead to local paths",
            )
        if not any(root.covers(loc) for root in self.roots):
            raise _refuse(_shown(href, loc), "it is outside the locations this server allows")
        return loc.text

    def check_entry(self, location: str | os.PathLike[str]) -> str:
        """The normalised ``location`` if a visitor may open it directly, else
        :class:`LocationRefusedError`."""
        loc = parse_location(location)
        if loc.is_local and not self.local:
            raise _refuse(os.fspath(location), "local paths are not allowed here")
        for root in self.entries:
            if not root.covers(loc):
                continue
            if root.location.is_local and not root.exact and loc.path != root.location.path:
                is_doc = loc.path.lower().endswith((".json", ".geojson"))
                if not (is_doc or os.path.isdir(loc.path)):
                    continue
            if (
                not loc.is_local
                and has_secret_query(os.fspath(location))
                and not (root.exact or loc.text == root.location.text)
            ):
                raise _refuse(
                    os.fspath(location),
                    "secrets in the query are not accepted from the page: the operator sets "
                    f"tokens in {TOKEN_ENV}",
                )
            return loc.text
        raise _refuse(_shown(location, loc), "it is outside the catalogs this server allows")

    def for_catalog(self, location: str) -> LocationPolicy:
        """The policy of the documents and assets of the catalog opened at ``location``: a catalog
        opened from a URL may reach allowed URLs only, never a local path."""
        if not _is_remote(location):
            return self
        keep = tuple(r for r in self.roots if not r.location.is_local)
        return LocationPolicy(keep, entries=keep, local=False)

    def check_document(self, doc: Mapping[str, Any], href: str) -> None:
        """Refuse a remote document that points to a local path or a GDAL ``/vsi*`` path in a
        link it would be followed by, or in an asset."""
        if not _is_remote(href):
            return
        for target in _document_hrefs(doc):
            try:
                parts = urlsplit(target)
            except ValueError:
                raise _refuse(target, f"it is not a valid URL (in {redact_url(href)})") from None
            if _is_gdal_path(target) or parts.scheme.lower() == "file":
                raise _refuse(
                    target, f"a remote document ({redact_url(href)}) may not lead to a local path"
                )


def _shown(href: str | os.PathLike[str], loc: Location) -> str:
    """What a refusal names: the normalised URL (its dot segments gone), or the path as given."""
    return loc.text if not loc.is_local else os.fspath(href)


def _document_hrefs(doc: Mapping[str, Any]) -> Iterator[str]:
    """Hrefs of the links a reader follows and of the assets of a document (and of the features
    of a FeatureCollection page)."""
    docs: list[Any] = [doc]
    feats = doc.get("features")
    if isinstance(feats, list):
        docs.extend(feats)
    colls = doc.get("collections")
    if isinstance(colls, list):
        docs.extend(colls)
    for d in docs:
        if not isinstance(d, dict):
            continue
        links = d.get("links")
        if isinstance(links, list):
            for lk in links:
                if isinstance(lk, dict) and isinstance(lk.get("href"), str):
                    if str(lk.get("rel", "")).lower() in _FOLLOWED_RELS:
                        yield lk["href"]
        assets = d.get("assets")
        if isinstance(assets, dict):
            for a in assets.values():
                if isinstance(a, dict) and isinstance(a.get("href"), str):
                    yield a["href"]


# --------------------------------------------------------------------------------------------- IO
def _error_detail(body: str) -> str:
    """The human part of a JSON error answer (``description``, ``detail``...), never raw bodies."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(data, dict):
        return ""
    found = [
        str(data[k]).strip()
        for k in ("code", "title", "description", "detail", "message")
        if isinstance(data.get(k), str | int) and str(data[k]).strip()
    ]
    return ": ".join(found)[:300]


class _HeadersOnly(requests.auth.AuthBase):
    """Leaves a request's headers as they are (keeps requests from adding Basic auth)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


class Http:
    """One requests session: bearer token, timeout, bounded retries, errors mapped to
    :class:`CatalogError` subclasses. Unlike pystac-client's ``StacApiIO.request`` it never logs
    request headers (they carry the token). With a ``policy`` every request, and every redirect,
    goes through :meth:`LocationPolicy.resolve` first."""

    def __init__(
        self,
        *,
        token: str | None,
        timeout: float,
        retries: int,
        token_hosts: Iterable[str] = (),
        policy: LocationPolicy | None = None,
    ) -> None:
        self.session = requests.Session()
        # credentials come from token= only: never Basic auth from ~/.netrc or a URL's userinfo
        self.session.auth = _HeadersOnly()
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
        self.policy = policy
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
            f"Http(timeout={self.timeout}, retries={self.retries}, "
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

    def resolve(self, href: str, base: str | None = None) -> str:
        """``href`` through the policy (unchanged without one)."""
        return href if self.policy is None else self.policy.resolve(href, base)

    def send(
        self,
        href: str,
        method: str = "GET",
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One request (streamed) to ``href`` with the token where it may go: refused when the
        URL carries a user or password, or (with a policy) when ``href`` or any redirect leads
        outside the policy; redirects are then followed here, at most :data:`MAX_REDIRECTS`.
        ``resp.url`` is the final URL; requests' exceptions pass through. For readers that need
        the response itself (byte ranges); :meth:`request` is the usual way."""
        method = method.upper()
        if has_userinfo(href):
            raise _refuse(
                href,
                "URLs with a user name or password are not accepted (they would be sent as Basic "
                f"auth instead of the token): remove 'user:password@' and use token= or {TOKEN_ENV}",
            )
        url = self.resolve(href)
        for _hop in range(MAX_REDIRECTS + 1):
            log.debug("%s %s", method, redact_url(url))
            resp = self.session.request(
                method,
                url,
                headers={**self.auth_headers(url), **(headers or {})},
                timeout=self.timeout,
                allow_redirects=self.policy is None,
                stream=True,
                **kwargs,
            )
            if self.policy is None or not resp.is_redirect:
                return resp
            target = resp.headers.get("location", "")
            resp.close()
            url = self.policy.resolve(target, base=url)
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method = "GET"
                kwargs = {k: v for k, v in kwargs.items() if k not in ("json", "data")}
        safe = redact_url(url)
        raise CatalogHTTPError(
            f"{method} {safe}: more than {MAX_REDIRECTS} redirects", url=safe, status=310
        )

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
        try:
            resp = self.send(href, method, headers=headers, **kwargs)
            url = href
            final = urlsplit(resp.url or href)
            if (final.path.rstrip("/"), _host(resp.url or href)) != (
                urlsplit(href).path.rstrip("/"),
                _host(href),
            ):
                url = urlunsplit(
                    (*final[:3], "", "")
                )  # redirected: name where the answer came from
            safe = redact_url(url)
            status = resp.status_code
            if 200 <= status < 300:
                return self._read_body(resp, safe, MAX_DOCUMENT_BYTES)
            body = self._read_body(resp, safe, 64 * 1024, quiet=True)
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
        if status in (401, 403):
            if not self._secret:
                hint = f"set the environment variable {TOKEN_ENV} or pass token= to open_catalog"
            elif _host(url) not in self.token_hosts:
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
        detail = self.scrub(_error_detail(body))
        raise CatalogHTTPError(
            f"{method} {safe} answered HTTP {status} {resp.reason}"
            + (f": {detail}" if detail else ""),
            url=safe,
            status=status,
        )

    @staticmethod
    def _read_body(resp: requests.Response, safe: str, limit: int, *, quiet: bool = False) -> str:
        chunks: list[bytes] = []
        total = 0
        with resp:
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > limit:
                    if quiet:
                        break
                    raise CatalogFormatError(
                        f"{safe} is larger than {limit // 2**20} MB: not a STAC document "
                        "pairscope reads",
                        url=safe,
                    )
                chunks.append(chunk)
        return b"".join(chunks).decode(resp.encoding or "utf-8", errors="replace")

    def read_json(self, href: str, text: str) -> dict[str, Any]:
        """``text`` (read from ``href``) as a JSON object; errors name the location and the kind of
        problem, never the text."""
        safe = redact_url(href)
        try:
            data = json.loads(text)
        except RecursionError:
            data = None
            deep = True
        except ValueError as err:
            where = (
                f" at line {err.lineno}, column {err.colno}"
                if isinstance(err, json.JSONDecodeError)
                else ""
            )
            raise CatalogFormatError(
                f"{safe} did not return valid JSON (a syntax error{where}): is this the address "
                "of a STAC document?",
                url=safe,
            ) from None
        else:
            deep = json_too_deep(data)
        if deep:
            raise CatalogFormatError(
                f"{safe} nests its JSON deeper than {MAX_JSON_DEPTH} levels: not a STAC document "
                "pairscope reads",
                url=safe,
            )
        if not isinstance(data, dict):
            raise CatalogFormatError(
                f"{safe} returned JSON that is not an object (a {type(data).__name__})", url=safe
            )
        if self.policy is not None:
            self.policy.check_document(data, href)
        return data


def _href_of(source: Any) -> str:
    return str(source.href if isinstance(source, pystac.Link) else source)


def _page_key(href: Any, method: Any, body: Any) -> str:
    try:
        text = json.dumps(body, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(body)
    return f"{str(method or 'GET').upper()} {href} {text}"


class SafeStacIO(StacApiIO):
    """pystac-client IO for STAC APIs over :class:`Http` (and its policy). Paging stops with
    :class:`CatalogFormatError` when a ``next`` link leads back to a page already read."""

    def __init__(self, http: Http) -> None:
        super().__init__(headers=None, timeout=http.timeout, max_retries=None)
        self.http = http
        self.session = http.session

    def __repr__(self) -> str:
        return f"SafeStacIO({self.http!r})"

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

    def get_pages(
        self,
        url: str,
        method: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        seen = {_page_key(url, method, parameters)}
        for page in super().get_pages(url, method, parameters):
            yield page
            nxt = next(
                (
                    lk
                    for lk in page.get("links", []) or []
                    if isinstance(lk, dict) and lk.get("rel") == "next"
                ),
                None,
            )
            if nxt is None:
                continue
            key = _page_key(nxt.get("href"), nxt.get("method"), nxt.get("body"))
            if key in seen:
                shown = redact_url(str(nxt.get("href")))
                raise CatalogFormatError(
                    f"the pages of {redact_url(url)} loop: the 'next' link {shown} leads back to a "
                    "page already read",
                    url=redact_url(url),
                )
            seen.add(key)


class SafeStaticIO(pystac.stac_io.DefaultStacIO):
    """pystac IO for static catalogs (local files or http) over :class:`Http` (and its policy)."""

    def __init__(self, http: Http) -> None:
        super().__init__()
        self.http = http

    def __repr__(self) -> str:
        return f"SafeStaticIO({self.http!r})"

    def read_text_from_href(self, href: str) -> str:
        if is_url(href):
            return self.http.request(href)
        path = self.http.resolve(href)
        if path.startswith("file://"):
            path = unquote(urlsplit(path).path)
        file = pathlib.Path(path)
        shown = redact_url(path)
        try:
            if not file.is_file():
                if file.exists():
                    raise CatalogUnreachableError(f"{shown} is not a regular file", url=shown)
                raise CatalogUnreachableError(f"no such file: {shown}", url=shown)
            with file.open("rb") as fh:
                data = fh.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as err:
            raise CatalogUnreachableError(
                f"cannot read {shown}: {err.strerror}", url=shown
            ) from None
        if len(data) > MAX_DOCUMENT_BYTES:
            raise CatalogFormatError(
                f"{shown} is larger than {MAX_DOCUMENT_BYTES // 2**20} MB: not a STAC document "
                "pairscope reads",
                url=shown,
            )
        return data.decode("utf-8", errors="replace")

    def read_json(self, source: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.http.read_json(_href_of(source), self.read_text(source, *args, **kwargs))
