"""Terrain from a DEM: sampling, slope, local incidence angle, layover and shadow.

The DEM is a DataArray on a regular geographic grid (dims ``latitude``/``longitude``,
``lat``/``lon``, or ``y``/``x`` with a geographic CRS, e.g. a rioxarray GeoTIFF); a size-1 ``band``
dim is dropped and ``_FillValue``/nodata become NaN. Heights are used as given: a DEM on the
EGM96 geoid (e.g. EPSG:9707, Copernicus GLO-30) must have the geoid undulation added to give
ellipsoidal heights; slopes, hence local incidence and layover/shadow, do not depend on it.
Public names are re-exported by :mod:`pairscope.geometry`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import xarray as xr

from pairscope._types import FloatArray
from pairscope.geometry._kernels import WGS84_A, WGS84_E2

__all__ = ["DemLike", "local_incidence_angle", "layover_shadow_mask", "LAYOVER", "SHADOW"]

#: A DEM: a DataArray with latitude/longitude coordinates (``latitude``/``longitude``,
#: ``lat``/``lon`` or geographic ``y``/``x``), or a callable ``(lat, lon) -> height``.
DemLike = xr.DataArray | Callable[[FloatArray, FloatArray], npt.ArrayLike]


def _dem_grid(dem: xr.DataArray) -> xr.DataArray:
    """The DEM as a 2-D float grid with nodata as NaN (a size-1 ``band`` dim is dropped)."""
    grid = dem.squeeze(drop=True) if dem.ndim > 2 else dem
    if grid.ndim != 2:
        raise ValueError(f"the DEM must be 2-D (one band), got dims {dem.dims}")
    nodata = grid.attrs.get("_FillValue", grid.rio.nodata if hasattr(grid, "rio") else None)
    values = np.asarray(grid.values, dtype=np.float64)
    if nodata is not None:
        values = np.where(values == nodata, np.nan, values)
    return grid.copy(data=values)


def dem_median(dem: xr.DataArray) -> float:
    values = _dem_grid(dem).values
    if not np.isfinite(values).any():
        raise ValueError("the DEM holds no valid height (all nodata)")
    return float(np.nanmedian(values))


def dem_sampler(
    dem: DemLike, *, clamp: bool = False
) -> Callable[[FloatArray, FloatArray], FloatArray]:
    if isinstance(dem, xr.DataArray):
        return _grid_sampler(_dem_grid(dem), clamp=clamp)
    if callable(dem):
        func = dem
        return lambda la, lo: np.asarray(func(la, lo), dtype=np.float64).reshape(la.shape)
    raise TypeError(
        "dem must be an xarray.DataArray on a latitude/longitude grid or a callable "
        f"(lat, lon) -> height; got {type(dem).__name__}"
    )


def _dem_axes(dem: xr.DataArray) -> tuple[str, str]:
    for lat_name, lon_name in (("latitude", "longitude"), ("lat", "lon"), ("y", "x")):
        if lat_name in dem.dims and lon_name in dem.dims:
            if lat_name == "y":
                crs = dem.rio.crs if hasattr(dem, "rio") else None
                if crs is not None and not crs.is_geographic:
                    raise ValueError(
                        f"the DEM's CRS {crs} is projected; reproject it to geographic "
                        "coordinates (dem.rio.reproject('EPSG:4326')) before using it here"
                    )
            lat, lon = dem[lat_name].values, dem[lon_name].values
            if np.nanmax(np.abs(lat)) > 90.0 or np.nanmax(np.abs(lon)) > 360.0:
                raise ValueError(
                    f"the DEM's {lat_name}/{lon_name} coordinates are not degrees (up to "
                    f"{np.nanmax(np.abs(lat)):.0f}, {np.nanmax(np.abs(lon)):.0f}); give it on a "
                    "geographic latitude/longitude grid"
                )
            return lat_name, lon_name
    raise ValueError(
        f"DEM dims {dem.dims} hold no latitude/longitude axes; name them ('latitude', "
        "'longitude'), ('lat', 'lon') or geographic ('y', 'x')"
    )


def _grid_sampler(
    dem: xr.DataArray, *, clamp: bool = False
) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """Bilinear sampler of a regular lat/lon DEM grid; edge values up to one sample outside the
    outer sample centres, NaN further out (or edge values everywhere outside with ``clamp``)."""
    lat_name, lon_name = _dem_axes(dem)
    grid = _dem_grid(dem).transpose(lat_name, lon_name)
    values = np.asarray(grid.values, dtype=np.float64)
    la = np.asarray(grid[lat_name].values, dtype=np.float64)
    lo = np.asarray(grid[lon_name].values, dtype=np.float64)
    if la.size < 2 or lo.size < 2:
        raise ValueError("the DEM needs at least 2 x 2 samples")

    def sample(lat: FloatArray, lon: FloatArray) -> FloatArray:
        fi = (lat - la[0]) / (la[1] - la[0])
        fj = (lon - lo[0]) / (lo[1] - lo[0])
        # cells extend half a sample beyond the outer centres: clamp within one sample
        inside = (fi >= -1) & (fi <= la.size) & (fj >= -1) & (fj <= lo.size)
        if clamp:
            inside = np.isfinite(fi) & np.isfinite(fj)
        fi = np.clip(np.where(inside, fi, 0.0), 0, la.size - 1)
        fj = np.clip(np.where(inside, fj, 0.0), 0, lo.size - 1)
        i0 = np.minimum(np.floor(fi).astype(np.int64), la.size - 2)
        j0 = np.minimum(np.floor(fj).astype(np.int64), lo.size - 2)
        wi, wj = fi - i0, fj - j0
        out = (
            values[i0, j0] * (1 - wi) * (1 - wj)
            + values[i0 + 1, j0] * wi * (1 - wj)
            + values[i0, j0 + 1] * (1 - wi) * wj
            + values[i0 + 1, j0 + 1] * wi * wj
        )
        result: FloatArray = np.where(inside, out, np.nan)
        return result

    return sample


def _terrain_gradient(dem: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """East and north height gradients (m/m) of a DEM on a regular latitude/longitude grid."""
    lat_name, lon_name = _dem_axes(dem)
    z = _dem_grid(dem).transpose(lat_name, lon_name)
    values = np.asarray(z.values, dtype=np.float64)
    lat = np.asarray(z[lat_name].values, dtype=np.float64)
    lon = np.asarray(z[lon_name].values, dtype=np.float64)
    if lat.size < 3 or lon.size < 3:
        raise ValueError(f"the DEM needs at least 3 x 3 samples to take a slope, got {z.shape}")
    sin_lat = np.sin(np.radians(lat))
    w = np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    radius_n = WGS84_A / w  # prime vertical radius
    radius_m = WGS84_A * (1.0 - WGS84_E2) / w**3  # meridian radius
    dz_dlat, dz_dlon = np.gradient(values, np.radians(lat), np.radians(lon))
    north = dz_dlat / radius_m[:, None]
    east = dz_dlon / (radius_n * np.cos(np.radians(lat)))[:, None]
    coords = {lat_name: lat, lon_name: lon}
    dims = (lat_name, lon_name)
    return xr.DataArray(east, dims=dims, coords=coords), xr.DataArray(
        north, dims=dims, coords=coords
    )


def _on_geometry_grid(field: xr.DataArray, geometry: xr.Dataset) -> FloatArray:
    """``field`` (on the DEM grid) at the geometry's points: same grid, or sampled at lat/lon."""
    ref = geometry["los_up"]
    if ref.dims == field.dims and ref.shape == field.shape:
        return np.asarray(field.values, dtype=np.float64)
    for lat_name, lon_name in (("latitude", "longitude"), ("lat", "lon")):
        if lat_name in geometry.variables and lon_name in geometry.variables:
            lat = np.broadcast_to(geometry[lat_name].values, ref.shape).astype(np.float64)
            lon = np.broadcast_to(geometry[lon_name].values, ref.shape).astype(np.float64)
            return _grid_sampler(field)(lat, lon)
    raise ValueError(
        f"geometry dims {ref.dims} {ref.shape} are not the DEM's {field.dims} {field.shape} and "
        "it has no latitude/longitude to sample the DEM at; compute it with "
        "look_geometry(orbit, latitude, longitude, height) on the DEM grid or with lat/lon coords"
    )


def local_incidence_angle(geometry: xr.Dataset, dem: xr.DataArray) -> xr.DataArray:
    """Angle (deg) between the line of sight and the terrain normal of ``dem``.

    ``geometry`` comes from :func:`look_geometry` (``los_east/north/up`` used), either on the DEM's
    own latitude/longitude grid or with ``latitude``/``longitude`` coordinates at which the DEM
    slope is sampled. The DEM must be on a regular geographic grid (dims latitude/longitude,
    lat/lon, or y/x with a geographic CRS); the terrain normal is ``(-dz/dE, -dz/dN, 1)``
    normalised, from centred differences in metres on the WGS84 ellipsoid. A slope facing the
    sensor by ``alpha`` in the plane of incidence gives ``|incidence - alpha|``; values above 90
    deg face away from the sensor (shadow).
    """
    east, north = _terrain_gradient(dem)
    ge = _on_geometry_grid(east, geometry)
    gn = _on_geometry_grid(north, geometry)
    le, ln, lu = (np.asarray(geometry[k].values, dtype=np.float64) for k in _LOS)
    cos_lia = (-ge * le - gn * ln + lu) / np.sqrt(ge * ge + gn * gn + 1.0)
    lia = np.degrees(np.arccos(np.clip(cos_lia, -1.0, 1.0)))
    ref = geometry["los_up"]
    return xr.DataArray(
        lia.astype(np.float32),
        dims=ref.dims,
        coords=ref.coords,
        attrs={"units": "deg", "long_name": "local incidence angle from the DEM terrain normal"},
        name="local_incidence_angle",
    )


_LOS = ("los_east", "los_north", "los_up")
LAYOVER = 1
SHADOW = 2


def layover_shadow_mask(geometry: xr.Dataset, dem: xr.DataArray) -> xr.DataArray:
    """Per-pixel (active) layover / shadow flags: 0 none, 1 layover, 2 shadow (CEOS-ARD bits).

    With ``alpha`` the tilt of the terrain towards the sensor in the plane of incidence (positive
    for a slope facing the sensor, i.e. descending towards it) and ``theta`` the ellipsoid
    incidence angle: layover where ``alpha > theta`` (the foreslope is steeper than the
    incidence: its top is imaged before its foot), shadow where ``-alpha > 90 - theta`` (the
    backslope faces away beyond grazing). Passive layover and shadow cast by distant terrain
    along the range line are not included.
    """
    east, north = _terrain_gradient(dem)
    ge = _on_geometry_grid(east, geometry)
    gn = _on_geometry_grid(north, geometry)
    le, ln, lu = (np.asarray(geometry[k].values, dtype=np.float64) for k in _LOS)
    horizontal = np.hypot(le, ln)
    with np.errstate(invalid="ignore", divide="ignore"):
        facing = np.degrees(np.arctan(-(ge * le + gn * ln) / horizontal))
    theta = np.degrees(np.arccos(np.clip(lu, -1.0, 1.0)))
    mask = np.zeros(theta.shape, dtype=np.uint8)
    mask[facing > theta] = LAYOVER
    mask[-facing > 90.0 - theta] = SHADOW
    ref = geometry["los_up"]
    return xr.DataArray(
        mask,
        dims=ref.dims,
        coords=ref.coords,
        attrs={
            "long_name": "layover/shadow mask",
            "flag_values": [0, 1, 2],
            "flag_meanings": "none layover shadow",
        },
        name="layover_shadow_mask",
    )
