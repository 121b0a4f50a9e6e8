"""Operator settings of a served explorer: default catalog, allow-list, tiles, demo cache.

Everything a visitor can influence through the page is checked here against what the operator
decided when starting the server (DESIGN.md, "Security of a served app").
"""

from __future__ import annotations

import os
import pathlib
import urllib.parse
from dataclasses import dataclass, field

#: Environment variables read by :meth:`Settings.from_env`.
ENV_ALLOWED = "PAIRSCOPE_ALLOWED_CATALOGS"
ENV_CACHE = "PAIRSCOPE_CACHE"
ENV_TILES = "PAIRSCOPE_TILES"
ENV_DEMO_SIZE = "PAIRSCOPE_DEMO_SIZE"

DEMO_SEED = 0


class CatalogRefused(ValueError):
    """A catalog outside the operator's allow-list was asked for."""


def is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme in ("http", "https")


def _as_path(text: str) -> pathlib.Path:
    if text.startswith("file://"):
        text = urllib.parse.urlsplit(text).path
    return pathlib.Path(text).expanduser().resolve()


def _url_under(url: str, prefix: str) -> bool:
    """True when ``url`` is ``prefix`` or below it (never a sibling such as ``/stac2``)."""
    u, p = urllib.parse.urlsplit(url), urllib.parse.urlsplit(prefix)
    if (u.scheme, u.netloc.lower()) != (p.scheme, p.netloc.lower()):
        return False
    ppath = p.path.rstrip("/")
    if not ppath:
        return True
    return u.path == ppath or u.path.startswith(ppath + "/")


def demo_cache_dir(size: str = "default") -> pathlib.Path:
    """Folder where the demo catalog is built on first use and reused afterwards."""
    root = os.environ.get(ENV_CACHE)
    base = pathlib.Path(root) if root else pathlib.Path.home() / ".cache" / "pairscope"
    return base.expanduser() / f"demo-seed{DEMO_SEED}-{size}"


@dataclass(frozen=True)
class Settings:
    """What the operator decided; one instance is shared (read-only) by every session.

    ``catalog``: the default catalog (URL or path of a static ``catalog.json``); ``None`` means the
    built-in demo, built into ``demo_dir`` on first use. ``allowed_catalogs``: extra URL prefixes or
    local folders a visitor may open through the ``catalog`` field or query parameter. ``tiles``: a
    GeoViews tile source name (``"OSM"``, ``"CartoLight"``...) or an XYZ URL template for the
    footprint map, or ``None`` for no tiles (tests, offline use).
    """

    catalog: str | None = None
    allowed_catalogs: tuple[str, ...] = ()
    tiles: str | None = "OSM"
    demo_size: str = "default"
    demo_dir: pathlib.Path | None = None
    cache_bytes: int = 768 * 2**20
    url_sync: bool = True
    extra: dict[str, str] = field(default_factory=dict)

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
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]

    # -- allow-list -----------------------------------------------------------------------------
    def _roots(self) -> list[str]:
        roots = list(self.allowed_catalogs)
        if self.catalog:
            roots.append(self.catalog)
            if not is_url(self.catalog):
                roots.append(str(_as_path(self.catalog).parent))
        if self.demo_dir is not None:
            roots.append(str(self.demo_dir))
        return roots

    def check_catalog(self, requested: str) -> str:
        """Return the normalised catalog location if the operator allows it, else raise.

        URLs must start with an allowed URL prefix; local paths must resolve (symlinks and ``..``
        followed) to an allowed file or to a path inside an allowed folder.
        """
        text = requested.strip()
        if not text:
            raise CatalogRefused("No catalog given: type a STAC API URL or a catalog.json path.")
        if is_url(text):
            for root in self._roots():
                if is_url(root) and _url_under(text, root):
                    return text
        elif urllib.parse.urlsplit(text).scheme not in ("", "file") and len(
            urllib.parse.urlsplit(text).scheme
        ) > 1:
            raise CatalogRefused(
                f"Catalog {text!r} uses an unsupported scheme; use http(s):// or a local path."
            )
        else:
            path = _as_path(text)
            for root in self._roots():
                if is_url(root):
                    continue
                rpath = _as_path(root)
                if path == rpath or rpath in path.parents:
                    return str(path)
        raise CatalogRefused(
            f"Catalog {text!r} is not allowed on this server. The operator allows: "
            f"{', '.join(self.describe_allowed()) or 'only the default catalog'}. "
            f"Ask them to add it with --catalog or {ENV_ALLOWED}."
        )

    def describe_allowed(self) -> list[str]:
        """Allowed catalogs as shown to a visitor: URLs verbatim, local folders never spelled out."""
        out = {"the default catalog"}
        out.update(root for root in self.allowed_catalogs if is_url(root))
        if self.catalog and is_url(self.catalog):
            out.add(self.catalog)
        if any(not is_url(root) for root in self.allowed_catalogs):
            out.add("local folders chosen by the operator")
        return sorted(out)
