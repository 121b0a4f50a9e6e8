"""HTTP for catalogs: bearer tokens sent only to named hosts, redaction of secrets in URLs, logs and
messages, bounded retries and timeouts, and the pystac / pystac-client IO classes over it.

A token comes from ``token=`` or ``PAIRSCOPE_STAC_TOKEN``; it is sent as an ``Authorization`` header
only to the catalog's host (and hosts in ``token_hosts`` / ``PAIRSCOPE_STAC_TOKEN_HOSTS``) and never
appears in a log line, an error message or a repr.
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pystac
import pystac.stac_io
import requests
from pystac_client.stac_api_io import StacApiIO
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pairscope.errors import (
    CatalogAuthError,
    CatalogFormatError,
    CatalogHTTPError,
    CatalogTimeoutError,
    CatalogUnreachableError,
)

log = logging.getLogger(__name__)

TOKEN_ENV = "PAIRSCOPE_STAC_TOKEN"


TOKEN_HOSTS_ENV = "PAIRSCOPE_STAC_TOKEN_HOSTS"


DEFAULT_TIMEOUT = 20.0


DEFAULT_RETRIES = 2


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


_BODY_METHODS = ("POST", "PUT", "PATCH")


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


# --------------------------------------------------------------------------------------------- IO
class Http:
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


class SafeStacIO(StacApiIO):
    """pystac-client IO for STAC APIs over :class:`Http`."""

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


class SafeStaticIO(pystac.stac_io.DefaultStacIO):
    """pystac IO for static catalogs (local files or http) over :class:`Http`."""

    def __init__(self, http: Http) -> None:
        super().__init__()
        self.http = http

    def __repr__(self) -> str:
        return f"SafeStaticIO({self.http!r})"

    def read_text_from_href(self, href: str) -> str:
        if is_url(href):
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


