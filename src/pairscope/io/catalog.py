"""STAC catalog access: open an API or a static catalog, find bursts and their acquisition dates.

``open_catalog`` returns a :class:`StacCatalog` for a STAC API root (through pystac-client) or a
static catalog / collection / item collection / item (local path or http URL, through pystac).
``search_bursts`` summarises the bursts a catalog holds, ``list_acquisitions`` lists the dates of one
burst with the assets to read per polarization (see :mod:`pairscope.io.rasters`), ``list_products`` the
published pair products (coherence) of a burst.

Against an API the collections, bbox and datetime are filtered by the server; burst id, relative orbit
and orbit state go into a CQL2 ``filter`` when the server conforms to the Filter extension (and
accepts the filter), else they are filtered here and the result says so (``filtered_client_side`` and
``notes``). A static catalog is always filtered here.

Errors are :class:`CatalogError` subclasses naming the URL (credentials removed) and what failed:
unreachable, timeout (after bounded retries), 401/403 (needs a token), other HTTP status, not JSON /
not STAC, missing asset, unknown burst; they never quote a document's contents. Links that cycle
(a catalog that is its own child, A <-> B) or nest deeper than ``MAX_LINK_DEPTH`` catalogs, and JSON
nested deeper than ``MAX_JSON_DEPTH`` levels, are :class:`CatalogFormatError` too.

A served app passes ``policy=`` (a :class:`~pairscope.io.http.LocationPolicy`, the operator's
allow-list): then the location opened, every document pystac or pystac-client reads (children,
items, collections, API pages, redirects) and every asset href the readers of
:mod:`pairscope.io.rasters` hand to GDAL or h5py go through it (:meth:`StacCatalog.resolve`), and a
refusal is :class:`~pairscope.errors.LocationRefusedError`. Without a policy (library use) any
location is read.

A bearer token comes from ``token=`` or the environment variable ``PAIRSCOPE_STAC_TOKEN``. It is sent
as an ``Authorization`` header only to the catalog's host (and hosts named in ``token_hosts`` /
``PAIRSCOPE_STAC_TOKEN_HOSTS``), and never appears in a log line, an error message or a repr.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import pathlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pystac
import pystac.stac_io
from pystac_client import Client

from pairscope.errors import (
    AssetError,
    BurstNotFoundError,
    CatalogAuthError,
    CatalogError,
    CatalogFormatError,
    CatalogHTTPError,
    CatalogTimeoutError,
    CatalogUnreachableError,
    LocationRefusedError,
    PairscopeError,
)

if TYPE_CHECKING:
    from pairscope.bursts import BurstId
from pairscope import bursts as burst_ids
from pairscope.io.filters import (
    check_bbox,
    cql2_filter,
    iso,
    item_matches,
    item_matches_burst_orbit,
    parse_datetime_range,
)
from pairscope.io.http import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TOKEN_ENV,
    TOKEN_HOSTS_ENV,
    Http,
    LocationPolicy,
    SafeStacIO,
    SafeStaticIO,
    is_url,
    redact_url,
)
from pairscope.io.items import (
    POLARIZATIONS,
    Acquisition,
    BurstSummary,
    PairProduct,
    acquisition_from_item,
    is_product_item,
    is_static_layer,
    items_from_collection_assets,
    product_from_item,
    set_default_burst,
)

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
    "LocationPolicy",
    "LocationRefusedError",
    "PairProduct",
    "ResultList",
    "StacCatalog",
    "acquisition_from_item",
    "list_acquisitions",
    "list_products",
    "product_from_item",
    "open_catalog",
    "redact_url",
    "search_bursts",
]

log = logging.getLogger(__name__)


DEFAULT_PAGE_SIZE = 100


DEFAULT_MAX_ITEMS = 5000


#: Deepest chain of catalogs / collections below a static catalog's root that is read.
MAX_LINK_DEPTH = 32


T = TypeVar("T")


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


# ---------------------------------------------------------------------------------------- catalog
class StacCatalog:
    """An opened catalog: a STAC API (``kind == "api"``) or a static catalog (``"static"``)."""

    def __init__(
        self,
        url: str,
        *,
        kind: str,
        http: Http,
        client: Client | None = None,
        root: Any = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        default_burst: str | None = None,
        default_collections: Sequence[str] | None = None,
        policy: LocationPolicy | None = None,
    ) -> None:
        self.url = redact_url(url)
        self._policy = policy
        self.default_collections = list(default_collections) if default_collections else None
        self.default_burst = (
            burst_ids.parse_burst_id(default_burst).canonical if default_burst else None
        )
        self.kind = kind
        self._http = http
        self._client = client
        self._root = root
        self.page_size = page_size
        self._collections: dict[str, pystac.Collection] | None = None
        self._static_items: list[pystac.Item] | None = None
        self._tree: tuple[list[pystac.Collection], list[pystac.Item]] | None = None

    @property
    def http(self) -> Http:
        """The HTTP session of this catalog (its token, timeouts and allowed hosts): readers of its
        assets take it to authenticate the same way."""
        return self._http

    @property
    def policy(self) -> LocationPolicy | None:
        """The allow-list this catalog's documents and assets are read under (None: any)."""
        return self._policy

    def resolve(self, href: str, base: str | None = None) -> str:
        """The location to open for ``href`` (an asset or document of this catalog; relative ones
        against ``base``): normalised and checked by the catalog's policy, which raises
        :class:`LocationRefusedError` for a location it does not allow; ``href`` unchanged when the
        catalog was opened without a policy."""
        return href if self._policy is None else self._policy.resolve(href, base)

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
            elif isinstance(self._root, pystac.Catalog):
                for c in self._static_tree()[0]:
                    colls.setdefault(c.id, c)
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
                items = list(self._static_tree()[1])
            else:  # pragma: no cover - open_catalog only builds the above
                raise CatalogFormatError(f"{self.url} is not a STAC catalog", url=self.url)
            for coll in self._collection_map().values():
                items.extend(items_from_collection_assets(coll))
            if self.default_burst is not None:
                for it in items:
                    set_default_burst(it, self.default_burst)
            self._static_items = items
        return self._static_items

    def _static_tree(self) -> tuple[list[pystac.Collection], list[pystac.Item]]:
        if self._tree is None:
            assert isinstance(self._root, pystac.Catalog)
            self._tree = walk_static(self._root, self.url)
        return self._tree

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
        start, end = parse_datetime_range(datetime)
        if bbox is not None:
            bbox = check_bbox(bbox)
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
                if item_matches(it, collections, bbox, start, end)
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
                set_default_burst(it, self.default_burst)
        out = [
            it for it in items if item_matches_burst_orbit(it, burst, relative_orbit, want_state)
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
            base["datetime"] = f"{iso(start) if start else '..'}/{iso(end) if end else '..'}"
        cql = cql2_filter(burst, relative_orbit, orbit_state)
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
                    cql = cql2_filter(None, relative_orbit, orbit_state)
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
    policy: LocationPolicy | None = None,
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

    ``policy``: the allow-list of a served app (see the module docstring). ``url_or_path`` must be
    one of its entries (:meth:`LocationPolicy.check_entry`), and everything the catalog reads
    afterwards goes through :meth:`LocationPolicy.resolve`; a catalog opened from a URL never reads
    a local path. Refusals raise :class:`LocationRefusedError`.
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    if token_hosts is None:
        token_hosts = os.environ.get(TOKEN_HOSTS_ENV, "").split(",")
    target = os.fspath(url_or_path)
    if policy is not None:
        target = policy.check_entry(target)
        policy = policy.for_catalog(target)
    http = Http(
        token=token, timeout=timeout, retries=retries, token_hosts=token_hosts, policy=policy
    )
    http.allow_host(target)
    if not is_url(target):
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
        if policy is not None:
            path = pathlib.Path(policy.check_entry(str(path)))
        if not path.is_file():
            raise CatalogUnreachableError(f"no such file: {path}", url=str(path))
        target = str(path.resolve())
    safe = redact_url(target)
    static_io = SafeStaticIO(http)
    data = static_io.read_json(target)
    kind_of = data.get("type")
    is_api = is_url(target) and (
        any("item-search" in str(c) for c in data.get("conformsTo", []) or [])
        or any(lk.get("rel") == "search" for lk in data.get("links", []) if isinstance(lk, dict))
    )
    api_root: str | None = target if is_api else None
    only: list[str] | None = None
    if api_root is None and kind_of == "Collection" and is_url(target):
        # the collection endpoint of an API (``.../collections/<id>``): search the API, in it
        api_root = _api_root_of_collection(data, static_io)
        only = [str(data.get("id"))] if api_root else None
    try:
        if api_root is not None:
            client = Client.open(api_root, stac_io=SafeStacIO(http))
            return StacCatalog(
                target,
                kind="api",
                http=http,
                client=client,
                page_size=page_size,
                default_burst=burst_id,
                default_collections=only,
                policy=policy,
            )
        # items read on their own get a root that reads through our IO: else pystac resolves their
        # root and collection links with its default reader, past the token rules and the policy
        holder = pystac.Catalog("pairscope-items", f"items of {safe}", href=target)
        holder._stac_io = static_io
        root: Any
        if kind_of == "FeatureCollection":
            root = pystac.ItemCollection.from_dict(data, preserve_dict=False, root=holder)
            for it in root.items:
                if it.get_self_href() is None:
                    it.set_self_href(target)
        else:
            root = pystac.read_dict(data, href=target, stac_io=static_io)
            if isinstance(root, pystac.Catalog):
                root.set_root(root)
                root._stac_io = static_io
            elif isinstance(root, pystac.Item):
                root.set_root(holder)
    except PairscopeError:
        raise
    except (
        pystac.STACError,
        pystac.STACTypeError,
        KeyError,
        TypeError,
        ValueError,
        RecursionError,
    ) as err:
        raise CatalogFormatError(
            f"{safe} is JSON but not a STAC catalog, collection, item collection or item "
            f"({_problem(err)})",
            url=safe,
        ) from None
    if not isinstance(root, pystac.Catalog | pystac.ItemCollection | pystac.Item):
        raise CatalogFormatError(f"{safe} is not a STAC catalog", url=safe)
    return StacCatalog(
        target,
        kind="static",
        http=http,
        root=root,
        page_size=page_size,
        default_burst=burst_id,
        policy=policy,
    )


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_:.-]{0,40}")


def _problem(err: BaseException) -> str:
    """The kind of problem pystac met, without quoting the document (its message may)."""
    if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str):
        if _FIELD.fullmatch(err.args[0]):
            return f"the field {err.args[0]!r} is missing"
    if isinstance(err, RecursionError):
        return "it nests too deep"
    return f"pystac could not read it: {type(err).__name__}"


@contextlib.contextmanager
def _reading(where: str) -> Iterator[None]:
    """Errors met while pystac follows the links of ``where`` as pairscope errors: pystac wraps the
    IO's errors (a refused location, a non-JSON document) in ``STACError``; they are raised as
    they were, and anything else says which document failed, never what it holds."""
    try:
        yield
    except PairscopeError:
        raise
    except (
        pystac.STACError,
        pystac.STACTypeError,
        KeyError,
        TypeError,
        ValueError,
        RecursionError,
    ) as err:
        cause = err.__cause__
        if isinstance(cause, PairscopeError):
            raise cause from None
        raise CatalogFormatError(
            f"a document linked from {where} is not a STAC catalog, collection or item "
            f"({_problem(err)})",
            url=where,
        ) from None


def _key(obj: pystac.STACObject) -> str:
    return obj.get_self_href() or f"#{id(obj)}"


def walk_static(
    root: pystac.Catalog, url: str
) -> tuple[list[pystac.Collection], list[pystac.Item]]:
    """The collections (``root`` first if it is one) and items of a static catalog, found by its
    ``child`` and ``item`` links, depth first in link order, each once. Read without recursion: a
    link back to a catalog on the current path (a self link, A <-> B) or a chain of more than
    :data:`MAX_LINK_DEPTH` catalogs raises :class:`CatalogFormatError`."""
    collections: list[pystac.Collection] = []
    items: list[pystac.Item] = []
    done: set[int] = set()
    seen_items: set[int] = set()
    stack: list[tuple[pystac.Catalog, tuple[str, ...]]] = [(root, (_key(root),))]
    while stack:
        node, path = stack.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, pystac.Collection):
            collections.append(node)
        where = redact_url(path[-1]) if not path[-1].startswith("#") else url
        with _reading(where):
            children = list(node.get_children())
            found = list(node.get_items())
        for it in found:
            if id(it) not in seen_items:
                seen_items.add(id(it))
                items.append(it)
        for child in reversed(children):
            key = _key(child)
            if key in path or child is node:
                loop = [*path[path.index(key) :], key] if key in path else [key, key]
                raise CatalogFormatError(
                    f"the links of {url} form a cycle ({' -> '.join(redact_url(k) for k in loop)}): "
                    "a catalog cannot be its own child or descendant",
                    url=url,
                )
            if len(path) >= MAX_LINK_DEPTH:
                raise CatalogFormatError(
                    f"{url} nests catalogs deeper than {MAX_LINK_DEPTH} levels (at "
                    f"{redact_url(key)}): not a catalog pairscope reads",
                    url=url,
                )
            stack.append((child, (*path, key)))
    return collections, items


def _api_root_of_collection(data: dict[str, Any], io: SafeStaticIO) -> str | None:
    """The API root of a collection document served by a STAC API (it has an ``items`` endpoint
    link and a ``root`` that conforms to Item Search), else None."""
    links = [lk for lk in data.get("links", []) if isinstance(lk, dict)]
    if not any(lk.get("rel") == "items" for lk in links):
        return None
    root = next(
        (str(lk["href"]) for lk in links if lk.get("rel") == "root" and lk.get("href")), None
    )
    if root is None or not is_url(root):
        return None
    try:
        doc = io.read_json(root)
    except (CatalogError, LocationRefusedError):
        return None
    if any("item-search" in str(c) for c in doc.get("conformsTo", []) or []):
        return root
    return None


def as_catalog(catalog: StacCatalog | str | os.PathLike[str]) -> StacCatalog:
    return catalog if isinstance(catalog, StacCatalog) else open_catalog(catalog)


# ------------------------------------------------------------------------------------- public API
def _group_acquisitions(items: Iterable[pystac.Item], notes: list[str]) -> list[Acquisition]:
    by_key: dict[tuple[str, _dt.date], Acquisition] = {}
    skipped_products = 0
    skipped_static = 0
    skipped_no_burst = 0
    for item in items:
        if is_product_item(item):
            skipped_products += 1
            continue
        if is_static_layer(item):
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
    cat = as_catalog(catalog)
    burst = burst_ids.parse_burst_id(burst_id) if burst_id is not None else None
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
    cat = as_catalog(catalog)
    burst = burst_ids.parse_burst_id(burst_id)
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


def list_products(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str | None = None,
    *,
    collections: Sequence[str] | None = None,
    datetime: Any = None,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> ResultList[PairProduct]:
    """Published pair products (e.g. Terrascope-format coherence) of one burst (any spelling) or of
    all bursts, sorted by (reference, secondary). Read them with :func:`pairscope.io.rasters.open_product`."""
    cat = as_catalog(catalog)
    burst = burst_ids.parse_burst_id(burst_id) if burst_id is not None else None
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
