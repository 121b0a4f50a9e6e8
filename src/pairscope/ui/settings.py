"""Operator settings of a served explorer: default catalog, allow-list, tiles, demo cache.

Everything a visitor can influence through the page is checked here against what the operator
decided when starting the server (DESIGN.md, "Security of a served app").
"""

from __future__ import annotations

import functools
import os
import pathlib
import urllib.parse
from dataclasses import dataclass, field

from pairscope.errors import LocationRefusedError
from pairscope.io.http import (
    TOKEN_ENV,
    AllowedRoot,
    LocationPolicy,
    LocationRefused,
    has_userinfo,
    redact_url,
    url_folder,
)

#: Environment variables read by :meth:`Settings.from_env`.
ENV_ALLOWED = "PAIRSCOPE_ALLOWED_CATALOGS"
ENV_CACHE = "PAIRSCOPE_CACHE"
ENV_TILES = "PAIRSCOPE_TILES"
ENV_DEMO_SIZE = "PAIRSCOPE_DEMO_SIZE"
ENV_MAX_JOBS = "PAIRSCOPE_MAX_JOBS"
ENV_MAX_JOBS_PER_CLIENT = "PAIRSCOPE_MAX_JOBS_PER_CLIENT"

DEMO_SEED = 0


class CatalogRefused(LocationRefusedError):
    """A catalog outside the operator's allow-list was asked for (a ``ValueError`` too)."""


def is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme in ("http", "https")


def _as_path(text: str | os.PathLike[str]) -> pathlib.Path:
    text = os.fspath(text)
    if text.startswith("file://"):
        text = urllib.parse.unquote(urllib.parse.urlsplit(text).path)
    return pathlib.Path(text).expanduser().resolve()


def demo_cache_dir(size: str = "default") -> pathlib.Path:
    """Folder where the demo catalog is built on first use and reused afterwards."""
    root = os.environ.get(ENV_CACHE)
    base = pathlib.Path(root) if root else pathlib.Path.home() / ".cache" / "pairscope"
    return base.expanduser() / f"demo-seed{DEMO_SEED}-{size}"


@dataclass(frozen=True)
class Settings:
    """What the operator decided; one instance is shared (read-only) by every session.

    ``catalog``: the default catalog (URL or path of a static ``catalog.json``); ``None`` means the
    built-in demo, built into ``demo_dir`` on first use. ``allowed_catalogs``: extra URL prefixes,
    catalog files or local folders a visitor may open through the ``catalog`` field or query
    parameter. ``tiles``: a tile source name (``"OSM"``, ``"CartoLight"``..., see :func:`tile_url`) or an XYZ URL
    template for the footprint map, or ``None`` for no tiles (tests, offline use).

    What may be opened is decided by one resolver, :attr:`location_policy` (see its docstring);
    URLs with a user name or password are refused here, when the server starts.
    """

    catalog: str | None = None
    allowed_catalogs: tuple[str, ...] = ()
    tiles: str | None = "OSM"
    demo_size: str = "default"
    demo_dir: pathlib.Path | None = None
    cache_bytes: int = 768 * 2**20
    url_sync: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    #: Jobs computing at once in this server process, and per client (remote address).
    max_jobs: int = 2
    max_jobs_per_client: int = 1

    @classmethod
    def from_env(cls, catalog: str | None = None, **overrides: object) -> Settings:
        allowed = tuple(
            p.strip()
            for chunk in os.environ.get(ENV_ALLOWED, "").split(",")
            for p in chunk.split(os.pathsep if not is_url(chunk.strip()) else ",")
            if p.strip()
        )
        tiles_env = os.environ.get(ENV_TILES)
        tiles: str | None = "OSM" if tiles_env is None else tiles_env.strip()
        if tiles is not None and tiles.lower() in ("", "none", "off", "0", "false"):
            tiles = None
        size = os.environ.get(ENV_DEMO_SIZE, "default")
        kwargs: dict[str, object] = {
            "catalog": catalog,
            "allowed_catalogs": allowed,
            "tiles": tiles,
            "demo_size": size,
            "demo_dir": demo_cache_dir(size),
        }
        for key, env in (("max_jobs", ENV_MAX_JOBS), ("max_jobs_per_client", ENV_MAX_JOBS_PER_CLIENT)):
            if os.environ.get(env, "").strip():
                try:
                    kwargs[key] = int(os.environ[env])
                except ValueError:
                    raise ValueError(f"{env} must be a whole number, got {os.environ[env]!r}") from None
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.tiles:
            tile_url(self.tiles)  # an unknown name stops the server here, with the known ones
        if self.max_jobs < 1 or self.max_jobs_per_client < 1:
            raise ValueError(
                f"max_jobs ({self.max_jobs}) and max_jobs_per_client ({self.max_jobs_per_client}) "
                f"must be >= 1 ({ENV_MAX_JOBS}, {ENV_MAX_JOBS_PER_CLIENT})"
            )
        for location in (self.catalog, *self.allowed_catalogs):
            if location and has_userinfo(location):
                raise LocationRefusedError(
                    f"the catalog {redact_url(location)!r} given to the server names a user or "
                    "password: pairscope does not accept credentials in URLs (they would be shown "
                    f"and sent in place of the token). Remove 'user:password@' and set {TOKEN_ENV} "
                    "in the server's environment."
                )

    # -- allow-list -----------------------------------------------------------------------------
    @functools.cached_property
    def location_policy(self) -> LocationPolicy:
        """The one resolver of everything this server opens, built from the operator's choices.

        A visitor may open (:meth:`check_catalog`): exactly the configured catalog (a file; a
        folder stands for its ``catalog.json`` / ``collection.json``), allowed catalog files, any
        location below an allowed URL prefix, and JSON documents below an allowed folder or the
        demo folder. Documents and assets reached by following links
        (:meth:`LocationPolicy.resolve`) may lie anywhere below the folder of the catalog they
        start from (for a URL: the prefix, or the folder of a ``.json`` URL), below allowed
        folders and URL prefixes, and in the demo folder; a catalog opened from a URL never
        reaches a local path. Pass it to ``open_catalog(location, policy=...)``.
        """
        entries: list[AllowedRoot] = []
        roots: list[AllowedRoot] = []

        def folder(path: pathlib.Path) -> None:
            entries.append(AllowedRoot.of(path, exact=False))
            roots.append(AllowedRoot.of(path, exact=False))

        def catalog(text: str) -> None:
            if is_url(text):
                entries.append(AllowedRoot.of(text, exact=False))
                roots.append(AllowedRoot.of(url_folder(text), exact=False))
                return
            path = _as_path(text)
            if path.is_dir():
                entries.append(AllowedRoot.of(path, exact=True))
                entries.extend(
                    AllowedRoot.of(path / name, exact=True)
                    for name in ("catalog.json", "collection.json")
                )
                roots.append(AllowedRoot.of(path, exact=False))
            else:
                entries.append(AllowedRoot.of(path, exact=True))
                roots.append(AllowedRoot.of(path.parent, exact=False))

        if self.catalog:
            catalog(self.catalog)
        for allowed in self.allowed_catalogs:
            if is_url(allowed) or _as_path(allowed).is_file():
                catalog(allowed)
            else:
                folder(_as_path(allowed))
        if self.demo_dir is not None:
            folder(_as_path(self.demo_dir))
        return LocationPolicy(roots, entries=entries)

    def check_catalog(self, requested: str) -> str:
        """Return the normalised catalog location if the operator allows a visitor to open it,
        else raise :class:`CatalogRefused` (see :attr:`location_policy`).

        URLs are percent-decoded and their dot segments removed before they are compared with the
        allowed prefixes (same scheme, host and port); local paths must resolve (symlinks and
        ``..`` followed) to an allowed file or to a JSON document inside an allowed folder.
        """
        text = requested.strip()
        if not text:
            raise CatalogRefused("No catalog given: type a STAC API URL or a catalog.json path.")
        try:
            return self.location_policy.check_entry(text)
        except LocationRefused as err:
            reason = err.reason
        raise CatalogRefused(
            f"Catalog {redact_url(text)!r} is not allowed on this server: {reason}. The operator "
            f"allows: {', '.join(self.describe_allowed()) or 'only the default catalog'}. "
            f"Ask them to add it with --catalog or {ENV_ALLOWED}."
        )

    def describe_allowed(self) -> list[str]:
        """Allowed catalogs as shown to a visitor: URLs redacted, local folders never spelled out."""
        out = {"the default catalog"}
        out.update(redact_url(root) for root in self.allowed_catalogs if is_url(root))
        if self.catalog and is_url(self.catalog):
            out.add(redact_url(self.catalog))
        if any(not is_url(root) for root in self.allowed_catalogs):
            out.add("local folders chosen by the operator")
        return sorted(out)


#: Attribution shown on the footprint map for the named tile sources (their licences ask for it).
_TILE_CREDITS = {
    "OSM": "© OpenStreetMap contributors",
    "OpenTopoMap": "© OpenStreetMap contributors, SRTM | © OpenTopoMap (CC-BY-SA)",
    "CartoLight": "© OpenStreetMap contributors © CARTO",
    "CartoDark": "© OpenStreetMap contributors © CARTO",
}


def tile_url(tiles: str) -> tuple[str, str]:
    """(XYZ URL template with Bokeh's {X}/{Y}/{Z}, attribution) of a tile source name (HoloViews'
    names: ``OSM``, ``CartoLight``, ``EsriImagery``...) or of an XYZ URL template."""
    if "{" in tiles:
        url = tiles
        for low in "xyz":
            url = url.replace("{" + low + "}", "{" + low.upper() + "}")
        return url, ""
    from holoviews.element.tiles import tile_sources

    if tiles not in tile_sources:
        raise ValueError(f"unknown tile source {tiles!r}: use one of {', '.join(sorted(tile_sources))}, "
                         "an XYZ URL template with {X}/{Y}/{Z}, or 'none'")
    url = str(tile_sources[tiles]().data)
    credit = _TILE_CREDITS.get(tiles, "© Esri" if tiles.startswith("Esri") else "")
    return url, credit
