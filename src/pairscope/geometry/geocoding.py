"""Radar geometry -> map grid, by binning radar samples into map cells.

Each radar sample (with its latitude/longitude) falls into one cell of a regular map grid; cells
aggregate their samples per variable:

- ``mean`` for real and complex values (coherence, amplitude, look vectors, incidence, ...);
- ``circular_mean`` for wrapped phase, ``arg(sum(exp(i * phase)))``, so a phase near +-pi never
  averages to 0;
- ``nearest`` (the sample closest to the cell centre) for masks, classes, integer and boolean
  variables, and times.

The grid follows the CEOS-ARD gridding convention: pixel edges on integer multiples of the
resolution (``x0 = floor(min_x / res) * res``). Without ``crs`` the UTM zone of the footprint's
centre is used (EPSG:326zz north, 327zz south; the Norway/Svalbard zone exceptions are not
applied). Cells left empty but surrounded by data (at least 5 of their 8 neighbours) are filled
from their neighbours' samples; the footprint's outline does not grow.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal, cast

import numba
import numpy as np
import numpy.typing as npt
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from pairscope._numba import jit, pjit
from pairscope._types import FloatArray, IntArray

__all__ = ["geocode", "utm_crs", "map_grid", "Aggregation", "aggregation_for"]

Aggregation = Literal["mean", "circular_mean", "nearest"]

#: Neighbours that must hold data for an empty cell to count as a hole (of 8).
HOLE_NEIGHBOURS = 5
#: Lookup-table step (deg) for the lat/lon -> map projection; checked against pyproj.
_LUT_STEP = 0.001


# ----------------------------------------------------------------------------------------------
# map grid
def utm_crs(latitude: float, longitude: float) -> pyproj.CRS:
    """The WGS84 / UTM CRS (EPSG:326zz or 327zz) of the zone holding (latitude, longitude)."""
    if not (-90.0 <= latitude <= 90.0) or not np.isfinite(longitude):
        raise ValueError(f"not a WGS84 position: latitude {latitude}, longitude {longitude}")
    zone = int(((longitude + 180.0) % 360.0) // 6.0) + 1
    return pyproj.CRS.from_epsg((32600 if latitude >= 0 else 32700) + zone)


def map_grid(x: FloatArray, y: FloatArray, resolution: float) -> tuple[float, float, int, int]:
    """(x0, y0, nx, ny): the upper-left corner snapped to multiples of ``resolution``."""
    return _snap(
        float(np.nanmin(x)),
        float(np.nanmax(x)),
        float(np.nanmin(y)),
        float(np.nanmax(y)),
        resolution,
    )


def _snap(
    x_min: float, x_max: float, y_min: float, y_max: float, resolution: float
) -> tuple[float, float, int, int]:
    x0 = np.floor(x_min / resolution) * resolution
    y0 = np.ceil(y_max / resolution) * resolution
    x1 = np.ceil(x_max / resolution) * resolution
    y1 = np.floor(y_min / resolution) * resolution
    # a sample exactly on the far edge goes to the last cell (see _cell_index)
    nx = max(int(round((x1 - x0) / resolution)), 1)
    ny = max(int(round((y0 - y1) / resolution)), 1)
    return float(x0), float(y0), nx, ny


@jit
def _bounds(a: FloatArray, b: FloatArray) -> tuple[float, float, float, float, int]:
    """min/max of ``a`` and ``b`` over the samples where both are finite, and their count."""
    a0, a1, b0, b1 = np.inf, -np.inf, np.inf, -np.inf
    n = 0
    for m in range(a.shape[0]):
        if np.isfinite(a[m]) and np.isfinite(b[m]):
            n += 1
            a0 = min(a0, a[m])
            a1 = max(a1, a[m])
            b0 = min(b0, b[m])
            b1 = max(b1, b[m])
    return a0, a1, b0, b1, n


@pjit
def _bilinear_lut(
    lat: FloatArray,
    lon: FloatArray,
    lat0: float,
    lon0: float,
    step_lat: float,
    step_lon: float,
    table_x: FloatArray,
    table_y: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    n = lat.shape[0]
    out_x = np.empty(n)
    out_y = np.empty(n)
    ni, nj = table_x.shape
    for m in numba.prange(n):
        fi = (lat[m] - lat0) / step_lat
        fj = (lon[m] - lon0) / step_lon
        if not (np.isfinite(fi) and np.isfinite(fj)):
            out_x[m] = np.nan
            out_y[m] = np.nan
            continue
        i = min(max(int(np.floor(fi)), 0), ni - 2)
        j = min(max(int(np.floor(fj)), 0), nj - 2)
        wi = fi - i
        wj = fj - j
        out_x[m] = (
            table_x[i, j] * (1 - wi) * (1 - wj)
            + table_x[i + 1, j] * wi * (1 - wj)
            + table_x[i, j + 1] * (1 - wi) * wj
            + table_x[i + 1, j + 1] * wi * wj
        )
        out_y[m] = (
            table_y[i, j] * (1 - wi) * (1 - wj)
            + table_y[i + 1, j] * wi * (1 - wj)
            + table_y[i, j + 1] * (1 - wi) * wj
            + table_y[i + 1, j + 1] * wi * wj
        )
    return out_x, out_y


def project(
    latitude: FloatArray, longitude: FloatArray, crs: pyproj.CRS, *, tolerance: float = 1e-3
) -> tuple[FloatArray, FloatArray]:
    """Map x, y of WGS84 lat/lon (1-D) in ``crs``.

    The projection is smooth over a burst, so it is tabulated on a 0.001 deg lat/lon grid with
    pyproj and interpolated bilinearly; the table is checked against pyproj on up to 2000
    samples and replaced by a direct pyproj transform when it is off by more than ``tolerance``
    (map units).
    """
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    latitude = np.ascontiguousarray(latitude, dtype=np.float64)
    longitude = np.ascontiguousarray(longitude, dtype=np.float64)
    lat0, lat1, lon0, lon1, n_finite = _bounds(latitude, longitude)
    if n_finite == 0:
        raise ValueError("no finite latitude/longitude to geocode")
    ni = int(min(max(np.ceil((lat1 - lat0) / _LUT_STEP) + 1, 2), 4000))
    nj = int(min(max(np.ceil((lon1 - lon0) / _LUT_STEP) + 1, 2), 4000))
    grid_lat = np.linspace(lat0, lat1 if lat1 > lat0 else lat0 + 1e-6, ni)
    grid_lon = np.linspace(lon0, lon1 if lon1 > lon0 else lon0 + 1e-6, nj)
    glo, gla = np.meshgrid(grid_lon, grid_lat)
    tx, ty = transformer.transform(glo, gla)
    x, y = _bilinear_lut(
        latitude,
        longitude,
        float(grid_lat[0]),
        float(grid_lon[0]),
        float(grid_lat[1] - grid_lat[0]),
        float(grid_lon[1] - grid_lon[0]),
        np.ascontiguousarray(tx, dtype=np.float64),
        np.ascontiguousarray(ty, dtype=np.float64),
    )
    check = np.arange(0, latitude.size, max(1, latitude.size // 4000))
    check = check[np.isfinite(latitude[check]) & np.isfinite(longitude[check])]
    ex, ey = transformer.transform(longitude[check], latitude[check])
    if max(np.abs(ex - x[check]).max(), np.abs(ey - y[check]).max()) > tolerance:
        x, y = transformer.transform(longitude, latitude)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


@pjit
def _cell_index(
    x: FloatArray, y: FloatArray, x0: float, y0: float, res: float, nx: int, ny: int
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """Flat cell index of each sample (-1 outside) and the number of samples per cell."""
    n = x.shape[0]
    idx = np.empty(n, dtype=np.int64)
    for m in numba.prange(n):
        fc = (x[m] - x0) / res
        fr = (y0 - y[m]) / res
        idx[m] = -1
        if np.isfinite(fc) and np.isfinite(fr):
            col = min(int(np.floor(fc)), nx - 1)
            row = min(int(np.floor(fr)), ny - 1)
            if col >= 0 and row >= 0:
                idx[m] = row * nx + col
    count = np.zeros(nx * ny, dtype=np.int32)
    for m in range(n):
        if idx[m] >= 0:
            count[idx[m]] += 1
    return idx, count


@pjit
def _centre_distance(
    x: FloatArray, y: FloatArray, idx: IntArray, x0: float, y0: float, res: float, nx: int
) -> FloatArray:
    """Squared distance (in cells) of each sample to the centre of its cell."""
    n = x.shape[0]
    d2 = np.empty(n)
    for m in numba.prange(n):
        if idx[m] < 0:
            d2[m] = np.inf
            continue
        row, col = idx[m] // nx, idx[m] % nx
        d2[m] = ((x[m] - x0) / res - col - 0.5) ** 2 + ((y0 - y[m]) / res - row - 0.5) ** 2
    return d2


# ----------------------------------------------------------------------------------------------
# scatter kernels: leading dims flattened to P, samples to M
@pjit
def _scatter_sum_kernel(
    idx: IntArray, values: FloatArray, n_cells: int, n_chunks: int
) -> tuple[FloatArray, npt.NDArray[np.int32]]:
    """Per-cell sum and count of finite values; ``values`` (P, M).

    Parallel over (P x ``n_chunks``) jobs, each chunk of samples into its own accumulator
    (n_chunks, P, n_cells), summed afterwards.
    """
    p_count, m_count = values.shape[0], idx.shape[0]
    sums = np.zeros((n_chunks, p_count, n_cells))
    counts = np.zeros((n_chunks, p_count, n_cells), dtype=np.int32)
    for job in numba.prange(p_count * n_chunks):
        p, k = job // n_chunks, job % n_chunks
        for m in range(k * m_count // n_chunks, (k + 1) * m_count // n_chunks):
            c = idx[m]
            v = values[p, m]
            if c >= 0 and np.isfinite(v):
                sums[k, p, c] += v
                counts[k, p, c] += 1
    return sums, counts


@pjit
def _scatter_phasor_kernel(
    idx: IntArray, phase: FloatArray, n_cells: int, n_chunks: int
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """Per-cell sums of cos and sin of finite phases and their count (as the sum kernel)."""
    p_count, m_count = phase.shape[0], idx.shape[0]
    re = np.zeros((n_chunks, p_count, n_cells))
    im = np.zeros((n_chunks, p_count, n_cells))
    counts = np.zeros((n_chunks, p_count, n_cells), dtype=np.int32)
    for job in numba.prange(p_count * n_chunks):
        p, k = job // n_chunks, job % n_chunks
        for m in range(k * m_count // n_chunks, (k + 1) * m_count // n_chunks):
            c = idx[m]
            v = phase[p, m]
            if c >= 0 and np.isfinite(v):
                re[k, p, c] += np.cos(v)
                im[k, p, c] += np.sin(v)
                counts[k, p, c] += 1
    return re, im, counts


def _chunks(p_count: int) -> int:
    """Sample chunks per leading index so that every thread has a job."""
    return max(1, numba.get_num_threads() // max(p_count, 1))


def _scatter_sum(
    idx: IntArray, values: FloatArray, n_cells: int
) -> tuple[FloatArray, npt.NDArray[np.int32]]:
    sums, counts = _scatter_sum_kernel(idx, values, n_cells, _chunks(values.shape[0]))
    if sums.shape[0] == 1:
        return sums[0], counts[0]
    return sums.sum(axis=0), counts.sum(axis=0, dtype=np.int32)


def _scatter_phasor(
    idx: IntArray, phase: FloatArray, n_cells: int
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    re, im, counts = _scatter_phasor_kernel(idx, phase, n_cells, _chunks(phase.shape[0]))
    if re.shape[0] == 1:
        return re[0], im[0], counts[0]
    return re.sum(axis=0), im.sum(axis=0), counts.sum(axis=0, dtype=np.int32)


@jit
def _scatter_nearest(
    idx: IntArray, d2: FloatArray, valid: npt.NDArray[np.bool_], n_cells: int
) -> IntArray:
    """Per cell, the index of the valid sample nearest to its centre (-1 when none)."""
    p_count = valid.shape[0]
    best = np.full((p_count, n_cells), -1, dtype=np.int64)
    for p in range(p_count):
        best_d = np.full(n_cells, np.inf)
        for m in range(idx.shape[0]):
            c = idx[m]
            if c >= 0 and valid[p, m] and d2[m] < best_d[c]:
                best_d[c] = d2[m]
                best[p, c] = m
    return best


@jit
def _fill_sums(
    accum: FloatArray, counts: npt.NDArray[np.int32], ny: int, nx: int, min_neighbours: int
) -> tuple[FloatArray, npt.NDArray[np.int32]]:
    """Empty cells with >= ``min_neighbours`` non-empty neighbours take their neighbours' sums.

    ``accum`` is (K, P, n_cells) (K accumulators sharing ``counts`` (P, n_cells)).
    """
    out = accum.copy()
    out_counts = counts.copy()
    k_count, p_count = accum.shape[0], accum.shape[1]
    for p in range(p_count):
        for r in range(ny):
            for c in range(nx):
                cell = r * nx + c
                if counts[p, cell] > 0:
                    continue
                n_valid = 0
                for dr in range(-1, 2):
                    for dc in range(-1, 2):
                        rr, cc = r + dr, c + dc
                        if (dr or dc) and 0 <= rr < ny and 0 <= cc < nx:
                            if counts[p, rr * nx + cc] > 0:
                                n_valid += 1
                if n_valid < min_neighbours:
                    continue
                for dr in range(-1, 2):
                    for dc in range(-1, 2):
                        rr, cc = r + dr, c + dc
                        if (dr or dc) and 0 <= rr < ny and 0 <= cc < nx:
                            other = rr * nx + cc
                            if counts[p, other] > 0:
                                out_counts[p, cell] += counts[p, other]
                                for k in range(k_count):
                                    out[k, p, cell] += accum[k, p, other]
    return out, out_counts


@jit
def _fill_nearest(best: IntArray, ny: int, nx: int, min_neighbours: int) -> IntArray:
    """Empty cells surrounded by data take the sample of their first non-empty edge neighbour."""
    out = best.copy()
    order_r = np.array([0, -1, 1, 0, -1, -1, 1, 1])
    order_c = np.array([-1, 0, 0, 1, -1, 1, -1, 1])
    for p in range(best.shape[0]):
        for r in range(ny):
            for c in range(nx):
                if best[p, r * nx + c] >= 0:
                    continue
                n_valid = 0
                first = -1
                for k in range(8):
                    rr, cc = r + order_r[k], c + order_c[k]
                    if 0 <= rr < ny and 0 <= cc < nx and best[p, rr * nx + cc] >= 0:
                        n_valid += 1
                        if first < 0:
                            first = best[p, rr * nx + cc]
                if n_valid >= min_neighbours:
                    out[p, r * nx + c] = first
    return out


# ----------------------------------------------------------------------------------------------
def aggregation_for(name: Hashable, da: xr.DataArray) -> Aggregation:
    """Default aggregation of a variable: see the module docstring."""
    text = str(name).lower()
    if da.dtype.kind in "biuM" or any(k in text for k in ("mask", "class", "flag", "label")):
        return "nearest"
    units = str(da.attrs.get("units", "")).lower()
    if da.dtype.kind != "c" and ("phase" in text or units in {"rad", "radian", "radians"}):
        return "circular_mean"
    return "mean"


def _fill_value(da: xr.DataArray) -> Any:
    for key in ("_FillValue", "nodata"):
        if key in da.attrs:
            return da.attrs[key]
    if da.dtype.kind == "b":
        return False
    if da.dtype.kind == "u":
        return np.iinfo(da.dtype).max
    if da.dtype.kind == "i":
        return np.iinfo(da.dtype).min
    if da.dtype.kind == "M":
        return np.datetime64("NaT")
    return np.nan


def _validate(
    ds: xr.Dataset, latitude: xr.DataArray, longitude: xr.DataArray
) -> tuple[Hashable, Hashable]:
    if latitude.ndim != 2 or latitude.shape != longitude.shape:
        raise ValueError(
            "latitude and longitude must be 2-D arrays of the same shape (one value per radar "
            f"sample); got {latitude.shape} and {longitude.shape}"
        )
    if latitude.dims != longitude.dims:
        raise ValueError(
            f"latitude dims {latitude.dims} differ from longitude dims {longitude.dims}"
        )
    dims = cast(tuple[Hashable, Hashable], latitude.dims)
    for name, var in ds.data_vars.items():
        if set(dims) <= set(var.dims):
            shape = tuple(var.sizes[d] for d in dims)
            if shape != latitude.shape:
                raise ValueError(
                    f"variable {name!r} has {dims} sizes {shape}, latitude has {latitude.shape}"
                )
    return dims


def _as_grid(v: xr.DataArray | npt.ArrayLike, ds: xr.Dataset, name: str) -> xr.DataArray:
    if isinstance(v, xr.DataArray):
        return v
    arr = np.asarray(v, dtype=np.float64)
    candidates = [
        var.dims[-2:]
        for var in ds.data_vars.values()
        if var.ndim >= 2 and var.shape[-2:] == arr.shape
    ]
    if arr.ndim != 2 or not candidates:
        raise ValueError(
            f"{name} given as a plain array of shape {arr.shape} matches no variable's last two "
            "dims; pass it as an xarray.DataArray with the radar dims"
        )
    return xr.DataArray(arr, dims=candidates[0])


def geocode(
    ds: xr.Dataset | xr.DataArray,
    latitude: xr.DataArray | npt.ArrayLike,
    longitude: xr.DataArray | npt.ArrayLike,
    *,
    crs: Any = None,
    resolution: float = 20.0,
    aggregation: Mapping[Hashable, Aggregation] | None = None,
    fill_holes: bool = True,
) -> xr.Dataset:
    """Geocode radar-geometry variables onto a regular map grid (dims ``(..., "y", "x")``).

    Parameters
    ----------
    ds:
        Variables on the radar dims of ``latitude`` (e.g. ``("pair", "azimuth", "range")``);
        any other (leading) dims such as ``pair`` are kept with their coordinates. Variables
        without the radar dims are carried over unchanged. A DataArray is geocoded as a
        one-variable Dataset.
    latitude, longitude:
        WGS84 degrees of every radar sample, 2-D on the radar dims.
    crs:
        Target CRS (anything ``pyproj.CRS.from_user_input`` takes); default: the UTM zone of
        the footprint centre.
    resolution:
        Cell size in CRS units (m for UTM); the grid origin is a multiple of it.
    aggregation:
        Per-variable override of :func:`aggregation_for` (``"mean"``, ``"circular_mean"``,
        ``"nearest"``).
    fill_holes:
        Fill empty cells that have at least 5 of 8 non-empty neighbours from those neighbours.

    The result carries the CRS and affine transform (rioxarray) and a ``sample_count``
    variable (radar samples per cell, before hole filling).
    """
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name if ds.name is not None else "data")
    if not np.isfinite(resolution) or resolution <= 0:
        raise ValueError(f"resolution must be a positive number of map units, got {resolution}")
    lat_da = _as_grid(latitude, ds, "latitude")
    lon_da = _as_grid(longitude, ds, "longitude")
    radar_dims = _validate(ds, lat_da, lon_da)
    lat = np.ascontiguousarray(lat_da.values.ravel(), dtype=np.float64)
    lon = np.ascontiguousarray(lon_da.values.ravel(), dtype=np.float64)
    lat0, lat1, lon0, lon1, n_finite = _bounds(lat, lon)
    if n_finite == 0:
        raise ValueError("latitude/longitude hold no finite value: nothing to geocode")
    if lon1 > 180.0:
        lon = np.where(lon > 180.0, lon - 360.0, lon)
        lat0, lat1, lon0, lon1, _ = _bounds(lat, lon)
    if crs is None:
        target = utm_crs(0.5 * (lat0 + lat1), 0.5 * (lon0 + lon1))
    else:
        target = pyproj.CRS.from_user_input(crs)
    x, y = project(lat, lon, target, tolerance=1e-5 * resolution)
    x_min, x_max, y_min, y_max, _ = _bounds(x, y)
    x0, y0, nx, ny = _snap(x_min, x_max, y_min, y_max, resolution)
    if nx * ny > 400_000_000:
        raise ValueError(
            f"map grid of {ny} x {nx} cells at resolution {resolution}: too large; is the "
            "resolution in the CRS's units (metres for UTM, degrees for EPSG:4326)?"
        )
    idx, count = _cell_index(x, y, x0, y0, float(resolution), nx, ny)
    methods = dict(aggregation or {})
    distance: list[FloatArray] = []

    def d2() -> FloatArray:
        if not distance:
            distance.append(_centre_distance(x, y, idx, x0, y0, float(resolution), nx))
        return distance[0]

    out_vars: dict[Hashable, xr.DataArray] = {}
    for name, var in ds.data_vars.items():
        if not set(radar_dims) <= set(var.dims):
            out_vars[name] = var
            continue
        method = methods.get(name, aggregation_for(name, var))
        out_vars[name] = _geocode_variable(var, radar_dims, idx, d2, ny, nx, method, fill_holes)
    out_vars["sample_count"] = xr.DataArray(
        count.reshape(ny, nx),
        dims=("y", "x"),
        attrs={"long_name": "radar samples per map cell", "units": "1"},
    )
    coords = _output_coords(ds, radar_dims, x0, y0, nx, ny, float(resolution))
    result = xr.Dataset(out_vars, coords=coords, attrs=dict(ds.attrs))
    result.attrs.update(
        {"geocoding": "radar samples binned into map cells", "resolution": float(resolution)}
    )
    transform = Affine(resolution, 0.0, x0, 0.0, -resolution, y0)
    result = cast(xr.Dataset, result.rio.write_crs(target).rio.write_transform(transform))
    result.x.attrs.update({"units": "m" if target.is_projected else "deg"})
    result.y.attrs.update({"units": "m" if target.is_projected else "deg"})
    return result


def _output_coords(
    ds: xr.Dataset,
    radar_dims: tuple[Hashable, Hashable],
    x0: float,
    y0: float,
    nx: int,
    ny: int,
    res: float,
) -> dict[Hashable, Any]:
    coords: dict[Hashable, Any] = {
        name: c for name, c in ds.coords.items() if not set(c.dims) & set(radar_dims)
    }
    coords["x"] = ("x", x0 + (np.arange(nx) + 0.5) * res)
    coords["y"] = ("y", y0 - (np.arange(ny) + 0.5) * res)
    return coords


def _geocode_variable(
    var: xr.DataArray,
    radar_dims: tuple[Hashable, Hashable],
    idx: IntArray,
    d2: Callable[[], FloatArray],
    ny: int,
    nx: int,
    method: Aggregation,
    fill_holes: bool,
) -> xr.DataArray:
    lead = [d for d in var.dims if d not in radar_dims]
    var = var.transpose(*lead, *radar_dims)
    lead_shape = tuple(var.sizes[d] for d in lead)
    flat = np.asarray(var.values).reshape(-1, idx.shape[0])
    n_cells = ny * nx
    min_nb = HOLE_NEIGHBOURS if fill_holes else 9
    if method == "nearest":
        data = _nearest(flat, idx, d2(), ny, nx, min_nb, _fill_value(var))
    elif method == "circular_mean":
        if flat.dtype.kind not in "fiu":
            raise TypeError(f"circular_mean needs real phases (rad), got dtype {flat.dtype}")
        re, im, counts = _scatter_phasor(idx, _real(flat), n_cells)
        acc, counts = _fill_sums(np.stack([re, im]), counts, ny, nx, min_nb)
        with np.errstate(invalid="ignore"):
            phase = np.arctan2(acc[1], acc[0])
        data = np.where(counts > 0, phase, np.nan).astype(_float_dtype(flat.dtype))
    elif method == "mean":
        data = _mean(flat, idx, ny, nx, min_nb)
    else:
        raise ValueError(
            f"unknown aggregation {method!r} for {var.name!r}; use mean, circular_mean or nearest"
        )
    attrs = dict(var.attrs)
    attrs["aggregation"] = method
    return xr.DataArray(
        data.reshape(*lead_shape, ny, nx),
        dims=(*lead, "y", "x"),
        coords={d: var.coords[d] for d in lead if d in var.coords},
        attrs=attrs,
    )


def _real(flat: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """float32/float64 samples as they are (numba specialises), anything else as float64."""
    if flat.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(flat)
    return np.ascontiguousarray(flat, dtype=np.float64)


def _float_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def _mean(flat: npt.NDArray[Any], idx: IntArray, ny: int, nx: int, min_nb: int) -> npt.NDArray[Any]:
    n_cells = ny * nx
    if flat.dtype.kind == "c":
        re, counts = _scatter_sum(idx, np.ascontiguousarray(flat.real, np.float64), n_cells)
        im, _ = _scatter_sum(idx, np.ascontiguousarray(flat.imag, np.float64), n_cells)
        acc, counts = _fill_sums(np.stack([re, im]), counts, ny, nx, min_nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (acc[0] + 1j * acc[1]) / counts
        return np.where(counts > 0, mean, np.nan + 0j).astype(flat.dtype)
    sums, counts = _scatter_sum(idx, _real(flat), n_cells)
    acc, counts = _fill_sums(sums[None], counts, ny, nx, min_nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = acc[0] / counts
    return np.where(counts > 0, mean, np.nan).astype(_float_dtype(flat.dtype))


def _nearest(
    flat: npt.NDArray[Any],
    idx: IntArray,
    d2: FloatArray,
    ny: int,
    nx: int,
    min_nb: int,
    fill: Any,
) -> npt.NDArray[Any]:
    if flat.dtype.kind == "M":
        valid = ~np.isnat(flat)
    elif flat.dtype.kind in "fc":
        valid = np.isfinite(flat)
    else:
        valid = np.ones(flat.shape, dtype=bool)
    best = _scatter_nearest(idx, d2, np.ascontiguousarray(valid), ny * nx)
    if min_nb <= 8:
        best = _fill_nearest(best, ny, nx, min_nb)
    out = np.take_along_axis(flat, np.maximum(best, 0), axis=1)
    return np.where(best >= 0, out, np.asarray(fill, dtype=flat.dtype))
