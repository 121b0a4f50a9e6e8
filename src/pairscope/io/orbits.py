"""Orbits of acquisitions, from what catalogs carry: ESA EOF files, SAFE annotation XML and the orbit
group of OPERA CSLC-S1 HDF5 files (parsed by :class:`pairscope.geometry.Orbit`)."""

from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np

from pairscope.errors import AssetError
from pairscope.geometry import Orbit
from pairscope.io.catalog import StacCatalog
from pairscope.io.http import Http, redact_url
from pairscope.io.items import Acquisition

__all__ = ["fetch_local", "open_orbit", "orbit_from_hdf5"]


def fetch_local(href: str, catalog: StacCatalog | None, what: str) -> tuple[str, bool]:
    """A local path for ``href`` (downloaded to a temporary file for http), and whether to delete it."""
    if href.startswith("file://"):
        href = href[len("file://") :]
    if not href.startswith(("http://", "https://")):
        if not pathlib.Path(href).is_file():
            raise AssetError(f"{what}: file not found: {href}", url=href)
        return href, False
    http = catalog.http if catalog is not None else Http(token=None, timeout=30.0, retries=2)
    text = http.request(href)
    fd, tmp = tempfile.mkstemp(suffix=pathlib.Path(href).suffix or ".xml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return tmp, True


def open_orbit(acquisition: Acquisition, *, catalog: StacCatalog | None = None) -> Orbit | None:
    """The orbit of an acquisition from its EOF or SAFE annotation asset, or None when it has none."""
    ref = acquisition.orbit
    if ref is None:
        return None
    if ref.kind == "hdf5" and ref.href.startswith(("http://", "https://")):
        raise AssetError(
            f"the orbit of {acquisition.item.id!r} is inside its HDF5 asset {ref.key!r}, which must "
            f"be a local file; download {redact_url(ref.href)} first",
            url=redact_url(ref.href),
        )
    path, temporary = fetch_local(
        ref.href, catalog, f"orbit asset {ref.key!r} of {acquisition.item.id!r}"
    )
    try:
        if ref.kind == "eof":
            return Orbit.from_eof(path)
        if ref.kind == "hdf5":
            return orbit_from_hdf5(path)
        return Orbit.from_annotation(path)
    except (ValueError, KeyError, OSError) as err:
        raise AssetError(
            f"cannot read the {ref.kind} orbit asset {ref.key!r} of item {acquisition.item.id!r} "
            f"({redact_url(ref.href)}): {err}",
            url=redact_url(ref.href),
        ) from None
    finally:
        if temporary:
            os.unlink(path)


def orbit_from_hdf5(path: str) -> Orbit | None:
    """OPERA CSLC-S1 state vectors: ``metadata/orbit/{time, position_*, velocity_*}``, times in
    seconds after ``reference_epoch`` (UTC)."""
    import h5py

    with h5py.File(path, "r") as f:
        if "metadata/orbit/time" not in f:
            return None
        g = f["metadata/orbit"]
        epoch = np.datetime64(g["reference_epoch"][()].decode().strip().replace(" ", "T"), "ns")
        seconds = np.asarray(g["time"][()], dtype=np.float64)
        times = epoch + np.round(seconds * 1e9).astype("timedelta64[ns]")
        pos = np.stack([g[f"position_{c}"][()] for c in "xyz"], axis=1)
        vel = np.stack([g[f"velocity_{c}"][()] for c in "xyz"], axis=1)
    return Orbit(times, pos, vel)
