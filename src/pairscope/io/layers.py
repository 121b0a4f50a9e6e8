"""Per-pixel layers a catalog publishes beside its SLCs: look vectors and incidence on the SLC grid.

A collection-level asset (the demo's ``geometry``, ``geometry_<burst>``; an asset naming its
burst in ``pairscope:burst_id`` serves that burst only) or an item asset whose bands are named
``look_x, look_y, look_z`` (and optionally ``los_east, los_north, los_up, incidence_angle``) on the
stack's grid holds the look geometry the catalog's producer computed; :mod:`pairscope.pipeline`
prefers it to recomputing from the orbit.
"""

from __future__ import annotations

import warnings
from typing import Any

import rasterio
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning

from pairscope.io.catalog import StacCatalog
from pairscope.io.items import Acquisition

__all__ = ["LOOK_BANDS", "open_look_layers"]

#: Band names of a look-geometry asset, in the names the app uses (``incidence_angle`` -> ``incidence``).
LOOK_BANDS = ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up", "incidence_angle")


def _band_names(asset: Any) -> list[str]:
    fields = asset.extra_fields
    for key in ("bands", "eo:bands", "raster:bands"):
        names = [str(b.get("name") or "") for b in fields.get(key) or []]
        if any(names):
            return names
    return []


def open_look_layers(
    catalog: StacCatalog, acquisition: Acquisition, shape: tuple[int, int]
) -> tuple[xr.Dataset, str] | None:
    """The look layers a catalog publishes for ``acquisition``'s burst on a grid of ``shape``
    (dims ``azimuth, range``; ``incidence_angle`` renamed ``incidence``) and a note saying where
    they come from; None when the catalog has none on that grid."""
    collection = catalog.get_collection(acquisition.collection) if acquisition.collection else None
    candidates = list(acquisition.item.assets.items())
    if collection is not None:
        candidates += list(collection.assets.items())
    for key, asset in candidates:
        burst = asset.extra_fields.get("pairscope:burst_id")
        if burst is not None and str(burst) != acquisition.burst_id:
            continue  # another burst's layers (the demo publishes one asset per burst)
        names = _band_names(asset)
        if not {"look_x", "look_y", "look_z"} <= set(names):
            continue
        href = asset.get_absolute_href() or asset.href
        href = catalog.http.resolve(href)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(href) as src:
                if (src.height, src.width) != tuple(shape) or src.count != len(names):
                    continue
                layers = {
                    ("incidence" if n == "incidence_angle" else n): (
                        ("azimuth", "range"), src.read(names.index(n) + 1)
                    )
                    for n in LOOK_BANDS if n in names
                }  # fmt: skip
        owner = f"collection {collection.id}" if collection is not None and key in collection.assets else f"item {acquisition.item.id}"
        return xr.Dataset(layers), f"{owner} asset {key!r}"
    return None
