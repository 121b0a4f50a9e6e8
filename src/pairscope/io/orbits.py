"""Orbits of acquisitions, from what catalogs carry: ESA EOF files, SAFE annotation XML, the orbit
group of OPERA CSLC-S1 HDF5 files (read remotely by HTTP range requests, only that group), and state
vectors in the item's own metadata (ASF / CMR ``SV_*_PRE/POST`` fields, ``pairscope:state_vectors``).
Parsed and interpolated by :class:`pairscope.geometry.Orbit`.
"""

from __future__ import annotations

import io
import os
import pathlib
import tempfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np
import requests

from pairscope.errors import AssetError, CatalogAuthError, GeometryError
from pairscope.geometry import Orbit
from pairscope.io.catalog import StacCatalog
from pairscope.io.http import Http, redact_url
from pairscope.io.items import Acquisition, OrbitAsset, item_state_vectors

__all__ = [
    "HttpRangeFile",
    "fetch_local",
    "open_orbit",
    "orbit_from_hdf5",
    "orbit_from_item_metadata",
]

#: The group of an OPERA CSLC-S1 file that holds its state vectors.
HDF5_ORBIT_GROUP = "metadata/orbit"


def fetch_local(href: str, catalog: StacCatalog | None, what: str) -> tuple[str, bool]:
    """A local path for ``href`` (downloaded to a temporary file for http), and whether to delete it."""
    if href.startswith("file://"):
        href = href[len("file://") :]
    if not href.startswith(("http://", "https://")):
        if not pathlib.Path(href).is_file():
            raise AssetError(f"{what}: file not found: {href}", url=href)
        return href, False
    text = _http(catalog).request(href)
    fd, tmp = tempfile.mkstemp(suffix=pathlib.Path(href).suffix or ".xml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return tmp, True


def _http(catalog: StacCatalog | None) -> Http:
    return catalog.http if catalog is not None else Http(token=None, timeout=30.0, retries=2)


def open_orbit(acquisition: Acquisition, *, catalog: StacCatalog | None = None) -> Orbit | None:
    """The orbit of an acquisition, or None when neither its assets nor its metadata hold one.

    In order: the orbit asset (ESA EOF, SAFE annotation XML, or the ``metadata/orbit`` group of an
    OPERA CSLC-S1 HDF5 file, read by range requests when remote), else state vectors in the item's
    properties (:func:`pairscope.io.items.item_state_vectors`: ASF / CMR ``SV_*`` fields or
    ``pairscope:state_vectors``). An asset or metadata that cannot be read raises
    :class:`AssetError` naming the item, the source and why.
    """
    ref = acquisition.orbit
    if ref is not None:
        return _orbit_from_asset(acquisition, ref, catalog)
    return orbit_from_item_metadata(acquisition)


def orbit_from_item_metadata(acquisition: Acquisition) -> Orbit | None:
    """The orbit from the state vectors in the acquisition's item properties, or None."""
    vectors = item_state_vectors(acquisition.item)
    if vectors is None:
        return None
    try:
        return Orbit(vectors.times, vectors.positions, vectors.velocities)
    except GeometryError as err:
        raise AssetError(
            f"item {acquisition.item.id!r}: the state vectors in {vectors.source} do not make an "
            f"orbit: {err}"
        ) from None


def _orbit_from_asset(
    acquisition: Acquisition, ref: OrbitAsset, catalog: StacCatalog | None
) -> Orbit | None:
    what = f"the {ref.kind} orbit asset {ref.key!r} of item {acquisition.item.id!r}"
    if ref.kind == "hdf5" and ref.href.startswith(("http://", "https://")):
        with HttpRangeFile(ref.href, _http(catalog), what=what) as remote:
            try:
                return orbit_from_hdf5(remote)
            except (ValueError, KeyError, OSError) as err:
                raise remote.error or AssetError(
                    f"cannot read {what} ({redact_url(ref.href)}): {err}",
                    url=redact_url(ref.href),
                ) from None
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


def orbit_from_hdf5(source: str | os.PathLike[str] | IO[bytes] | io.RawIOBase) -> Orbit | None:
    """OPERA CSLC-S1 state vectors: ``metadata/orbit/{time, position_*, velocity_*}``, times in
    seconds after ``reference_epoch`` (UTC); None if the file has no such group.

    ``source`` is a path or a seekable binary file object (e.g. :class:`HttpRangeFile`); only the
    orbit group is read."""
    import h5py

    with h5py.File(source, "r") as f:
        if f"{HDF5_ORBIT_GROUP}/time" not in f:
            return None
        g = f[HDF5_ORBIT_GROUP]
        epoch = np.datetime64(g["reference_epoch"][()].decode().strip().replace(" ", "T"), "ns")
        seconds = np.asarray(g["time"][()], dtype=np.float64)
        times = epoch + np.round(seconds * 1e9).astype("timedelta64[ns]")
        pos = np.stack([g[f"position_{c}"][()] for c in "xyz"], axis=1)
        vel = np.stack([g[f"velocity_{c}"][()] for c in "xyz"], axis=1)
    return Orbit(times, pos, vel)


class HttpRangeFile(io.RawIOBase):
    """A read-only, seekable file over HTTP ``Range`` requests with a block cache, for h5py.

    Reads go out in whole ``block_size`` blocks (consecutive missing blocks in one request) and
    the last ``max_blocks`` blocks are kept, so HDF5's many small metadata reads cost a few
    requests and only the bytes near what is read are transferred, never the whole file. Uses the
    catalog's :class:`Http` session (its retries) and its ``Authorization`` header for the URL's
    host only. A server that ignores ``Range`` (answers 200 with the whole body) is refused with
    :class:`AssetError` before the body is read. ``bytes_transferred`` and ``requests`` count
    what was fetched.
    """

    def __init__(
        self,
        url: str,
        http: Http,
        *,
        block_size: int = 8192,
        max_blocks: int = 256,
        what: str | None = None,
    ) -> None:
        super().__init__()
        if block_size <= 0 or max_blocks <= 0:
            raise ValueError("block_size and max_blocks must be positive")
        self.url = url
        self.block_size = block_size
        self.max_blocks = max_blocks
        self.bytes_transferred = 0
        self.requests = 0
        #: The error raised inside a read (h5py reports it as a plain OSError).
        self.error: Exception | None = None
        self._http = http
        self._what = what or redact_url(url)
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._pos = 0
        self.size = -1
        self.size = self._first_block()

    def __repr__(self) -> str:
        return f"HttpRangeFile({redact_url(self.url)!r}, size={self.size})"

    # io.RawIOBase ------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self.size - self._pos))
        if n == 0:
            return 0
        first, last = self._pos // self.block_size, (self._pos + n - 1) // self.block_size
        try:
            self._load(first, last)
        except Exception as err:
            self.error = err
            raise
        done = 0
        for b in range(first, last + 1):
            block = self._blocks[b]
            self._blocks.move_to_end(b)
            lo = max(self._pos + done - b * self.block_size, 0)
            take = min(len(block) - lo, n - done)
            view[done : done + take] = block[lo : lo + take]
            done += take
        self._pos += done
        return done

    # fetching ----------------------------------------------------------------------------------
    def _first_block(self) -> int:
        data, total = self._get(0, self.block_size - 1)
        self._blocks[0] = data
        return total

    def _load(self, first: int, last: int) -> None:
        b = first
        while b <= last:
            if b in self._blocks:
                self._blocks.move_to_end(b)  # in use: not to be evicted below
                b += 1
                continue
            end = b
            while end + 1 <= last and end + 1 not in self._blocks:
                end += 1
            data, _ = self._get(
                b * self.block_size, min((end + 1) * self.block_size, self.size) - 1
            )
            for k in range(b, end + 1):
                self._blocks[k] = data[(k - b) * self.block_size : (k - b + 1) * self.block_size]
            b = end + 1
        while len(self._blocks) > max(self.max_blocks, last - first + 1):
            self._blocks.popitem(last=False)

    def _get(self, start: int, stop: int) -> tuple[bytes, int]:
        """Bytes ``start..stop`` (inclusive) and the file's total size."""
        safe = redact_url(self.url)
        headers = {"Range": f"bytes={start}-{stop}", **self._http.auth_headers(self.url)}
        self.requests += 1
        try:
            resp = self._http.session.get(
                self.url, headers=headers, timeout=self._http.timeout, stream=True
            )
        except requests.exceptions.RequestException as err:
            raise AssetError(
                f"cannot read {self._what}: GET {safe} failed ({type(err).__name__}); check the "
                "address and that the server is reachable",
                url=safe,
            ) from None
        with resp:
            status = resp.status_code
            if status in (401, 403):
                raise CatalogAuthError(
                    f"GET {safe} answered HTTP {status}: {self._what} needs an access token that "
                    "this catalog's token does not give (or none is set)",
                    url=safe,
                    status=status,
                )
            if status == 200:
                raise AssetError(
                    f"cannot read {self._what}: {safe} ignores HTTP Range requests (it answered "
                    "200 with the whole file), and pairscope reads only the orbit group of a "
                    "remote HDF5 file; serve it from a server that honours Range, or download it "
                    "and point the asset at the local copy",
                    url=safe,
                )
            if status != 206:
                raise AssetError(
                    f"cannot read {self._what}: GET {safe} (bytes {start}-{stop}) answered HTTP "
                    f"{status} {resp.reason}",
                    url=safe,
                )
            data = resp.content
        self.bytes_transferred += len(data)
        total = _total_size(resp.headers.get("Content-Range", ""))
        if total is None:
            raise AssetError(
                f"cannot read {self._what}: {safe} answered 206 without a Content-Range total",
                url=safe,
            )
        if len(data) != min(stop, total - 1) - start + 1:
            raise AssetError(
                f"cannot read {self._what}: asked {safe} for bytes {start}-{stop}, got {len(data)}",
                url=safe,
            )
        return data, total


def _total_size(content_range: str) -> int | None:
    """The total of ``bytes 0-99/1234`` (None when missing or ``*``)."""
    _, _, total = content_range.rpartition("/")
    return int(total) if total.strip().isdigit() else None
