"""In-memory exports for the app's downloads: a pair as a zip of COGs + its STAC item, maps and
comparison figures as PNG bytes, tables as CSV bytes.

Nothing here is left on disk. The COG writer (:func:`pairscope.io.export.export_pair`) needs
files, so :func:`pair_zip` runs it in a :class:`tempfile.TemporaryDirectory` (prefix
`TEMP_PREFIX`) that is removed before it returns, whether the export worked or not; figures are
drawn with matplotlib's object API (no pyplot, no global state, safe on worker threads) and
saved to a :class:`io.BytesIO`; CSV is written to a string.

- :func:`network_table` / :func:`csv_bytes`: one row per pair of a network (dates, temporal and
  perpendicular baselines, mean coherence of the computed pairs, rule, window, input item ids);
- :func:`map_figure` / :func:`figure_png`: one layer as the app draws it (render limits and
  colormap, the current view), titled, axes in its geometry (CRS named), colourbar with units
  and a caption; PNG text chunks carry the title, caption and view;
- :func:`comparison_figure`: a published product beside our recomputation, their difference and
  the 2-D histogram of the view (the QA tab);
- :func:`pair_zip`: one pair's layers as COGs with a STAC item whose hrefs are relative.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import pathlib
import tempfile
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from pairscope._version import __version__
from pairscope.io import export
from pairscope.pairs import format_day
from pairscope.render import block_factors, block_reduce

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = [
    "DRAWN", "PAIRS_COLUMNS", "TEMP_PREFIX", "Bundle", "ComputedPair", "comparison_figure",
    "crs_name", "csv_bytes", "figure_png", "map_figure", "network_table", "pair_zip", "rasterize",
]  # fmt: skip

#: Prefix of the temporary folder :func:`pair_zip` writes in (removed before it returns).
TEMP_PREFIX = "pairscope-bundle-"

#: Columns of the network table (:func:`network_table`), in order.
PAIRS_COLUMNS = (
    "reference", "secondary", "temporal_baseline_days", "perpendicular_baseline_m",
    "mean_coherence", "mean_coherence_view", "computed", "network", "rule", "window",
    "bias_corrected", "reference_item", "secondary_item", "burst_id", "polarization",
    "baseline_convention",
)  # fmt: skip

Range = tuple[float, float]
View = tuple[Range | None, Range | None]


@dataclasses.dataclass(frozen=True)
class Bundle:
    """An in-memory download: its file name, its bytes and (for a pair) its STAC item."""

    filename: str
    data: bytes
    item: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class ComputedPair:
    """What was computed for one pair: its mean coherence (over the whole grid and, when the
    person looks at part of it, over that view) and the settings used."""

    mean_coherence: float
    window: str
    bias_corrected: bool
    mean_coherence_view: float | None = None


# ---------------------------------------------------------------------------------------------
# tables


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """``rows`` as UTF-8 CSV with a header (``columns``, default: the first row's keys); None and
    non-finite numbers become empty cells, booleans ``true``/``false``."""
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if not names:
        raise ValueError("a CSV needs columns: pass columns= or at least one row")
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in names})
    return out.getvalue().encode("utf-8")


def network_table(
    pairs: Sequence[tuple[Any, Any]],
    *,
    dates: Sequence[Any],
    item_ids: Sequence[str] = (),
    perpendicular_baselines: Sequence[float] | None = None,
    convention: str = "vertex",
    computed: Mapping[str, ComputedPair] | None = None,
    rule: str = "",
    window: str = "",
    bias_corrected: bool = False,
    burst_id: str = "",
    polarization: str = "",
    membership: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per pair of a network (columns `PAIRS_COLUMNS`).

    ``dates``, ``item_ids`` and ``perpendicular_baselines`` are per acquisition (the baselines
    against the first date, in the ``convention`` sign convention); a pair's perpendicular
    baseline is B(secondary) - B(reference). ``computed`` maps a pair key ``YYYYMMDD_YYYYMMDD``
    to what was computed for it: its mean coherence and the window / bias correction it was
    computed with; other pairs get an empty mean coherence and the current ``window``.
    ``membership`` says, per pair key, how the pair stands in the network (``kept``,
    ``pruned``...); default ``kept``.
    """
    days = [format_day(d) for d in dates]
    ids = dict(zip(days, item_ids, strict=False)) if item_ids else {}
    bperp: dict[str, float] = {}
    if perpendicular_baselines is not None:
        bperp = {d: float(b) for d, b in zip(days, perpendicular_baselines, strict=True)}
    done = computed or {}
    rows = []
    for a, b in pairs:
        ref, sec = format_day(a), format_day(b)
        key = f"{ref}_{sec}"
        dt_days = int((np.datetime64(b, "D") - np.datetime64(a, "D")) / np.timedelta64(1, "D"))
        baseline = (
            round(bperp[sec] - bperp[ref], 3) if ref in bperp and sec in bperp else None
        )
        hit = done.get(key)
        mean = view_mean = None
        if hit is not None and math.isfinite(hit.mean_coherence):
            mean = round(float(hit.mean_coherence), 6)
        if hit is not None and hit.mean_coherence_view is not None and math.isfinite(
                hit.mean_coherence_view):  # fmt: skip
            view_mean = round(float(hit.mean_coherence_view), 6)
        rows.append({
            "reference": ref, "secondary": sec, "temporal_baseline_days": dt_days,
            "perpendicular_baseline_m": baseline, "mean_coherence": mean,
            "mean_coherence_view": view_mean, "computed": hit is not None,
            "network": (membership or {}).get(key, "kept"), "rule": rule,
            "window": hit.window if hit is not None else window,
            "bias_corrected": hit.bias_corrected if hit is not None else bias_corrected,
            "reference_item": ids.get(ref, ""), "secondary_item": ids.get(sec, ""),
            "burst_id": burst_id, "polarization": polarization,
            "baseline_convention": (
                f"{convention}: B(secondary) - B(reference), each date against the first"
                if bperp else ""
            ),
        })  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------
# figures


def _colormap(name: str) -> Colormap:
    from matplotlib.colors import ListedColormap

    from pairscope.render import get_colormap

    cmap = ListedColormap(np.asarray(get_colormap(name), dtype="float64") / 255.0, name=name)
    return cmap.with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def _axis(da: xr.DataArray, dim: str) -> np.ndarray:
    if dim in da.coords and da[dim].ndim == 1:
        return np.asarray(da[dim].values, dtype="float64")
    return np.arange(da.sizes[dim], dtype="float64")


def _extent(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """imshow extent (left, right, bottom, top) of pixel-centre coordinates, first row on top."""
    dx = float(xs[1] - xs[0]) if xs.size > 1 else 1.0
    dy = float(ys[1] - ys[0]) if ys.size > 1 else 1.0
    return (float(xs[0] - dx / 2), float(xs[-1] + dx / 2),
            float(ys[-1] + dy / 2), float(ys[0] - dy / 2))  # fmt: skip


def crs_name(da: xr.DataArray) -> str | None:
    """``EPSG:xxxx`` (or the WKT's name) of a map-geometry array, None without a CRS."""
    import rioxarray  # noqa: F401  (registers .rio)

    try:
        crs = da.rio.crs
    except Exception:  # noqa: BLE001 - no usable CRS is the answer
        return None
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else str(crs.to_wkt())[:60]


def _radar(da: xr.DataArray) -> bool:
    return str(da.dims[-1]) == "range"


def _labels(da: xr.DataArray, crs: str | None) -> tuple[str, str]:
    if _radar(da):
        return "range [sample]", "azimuth [line]"
    where = f", {crs}" if crs else ""
    return f"easting [m]{where}", f"northing [m]{where}"


def _wrap(text: str, width: int = 118) -> str:
    return "\n".join(textwrap.fill(p, width) for p in text.split("\n"))


def _in_view(coords: np.ndarray, bounds: Range | None) -> slice:
    """The samples of ``coords`` inside ``bounds`` (plus one each side), all when None."""
    if bounds is None or coords.size < 2:
        return slice(None)
    lo, hi = sorted(bounds)
    step = abs(float(coords[1] - coords[0]))
    inside = np.flatnonzero((coords >= lo - step) & (coords <= hi + step))
    return slice(int(inside[0]), int(inside[-1]) + 1) if inside.size else slice(None)


def _block_axis(coords: np.ndarray, factor: int, n: int) -> np.ndarray:
    """Centres of blocks of ``factor`` samples (``n`` blocks, the last padded)."""
    step = float(coords[1] - coords[0]) if coords.size > 1 else 1.0
    padded = coords[0] + step * np.arange(n * factor)
    padded[: coords.size] = coords
    return np.asarray(padded.reshape(n, factor).mean(axis=1), dtype="float64")


def rasterize(
    values: np.ndarray, xs: np.ndarray, ys: np.ndarray, pixels: tuple[int, int], *,
    first: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``values`` (rows ``ys``, columns ``xs``) on at most about ``pixels`` (rows, columns), as
    the app's maps draw them (:func:`pairscope.render.block_reduce`): blocks of whole samples,
    the mean of each block's finite values, or (``first``, for wrapped phase, never a mean of
    angles) its first sample.
    Returns the values and the block centres."""
    fy, fx = block_factors(values.shape, pixels)
    if fy == 1 and fx == 1:
        return values, xs, ys
    out = block_reduce(values, (fy, fx), first=first)
    ny, nx = out.shape
    return out, _block_axis(xs, fx, nx), _block_axis(ys, fy, ny)


#: Samples drawn per map (rows, columns) at most about: the figure's pixels, give or take 2x
#: (one map; each of the QA figure's three).
DRAWN = (600, 1100)
QA_DRAWN = (450, 600)


def _draw_map(
    fig: Figure, ax: Axes, da: xr.DataArray, *, colormap: str, limits: Range | None,
    label: str, view: View, crs: str | None, nearest: bool, title: str,
    pixels: tuple[int, int] = DRAWN,
) -> None:  # fmt: skip
    ydim, xdim = str(da.dims[-2]), str(da.dims[-1])
    xs, ys = _axis(da, xdim), _axis(da, ydim)
    cols, rows = _in_view(xs, view[0]), _in_view(ys, view[1])
    xs, ys = xs[cols], ys[rows]
    drawn, xs, ys = rasterize(np.asarray(da.values, dtype="float64")[rows, cols], xs, ys, pixels,
                              first=nearest)  # fmt: skip
    values = np.ma.masked_invalid(drawn)
    vmin, vmax = limits if limits is not None else (None, None)
    radar = _radar(da)
    image = ax.imshow(
        values, cmap=_colormap(colormap), vmin=vmin, vmax=vmax, extent=_extent(xs, ys),
        interpolation="nearest" if nearest else "antialiased",
        aspect="auto" if radar else "equal", origin="upper",
    )  # fmt: skip
    x_range, y_range = view
    if x_range is not None:
        ax.set_xlim(*sorted(x_range))
    if y_range is not None:
        lo, hi = sorted(y_range)
        ax.set_ylim((hi, lo) if radar else (lo, hi))
    elif radar:
        ax.set_ylim(max(ax.get_ylim()), min(ax.get_ylim()))  # azimuth down, as the app
    if not radar:
        ax.ticklabel_format(useOffset=False, style="plain")
    xlabel, ylabel = _labels(da, crs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    bar = fig.colorbar(image, ax=ax, orientation="vertical", fraction=0.05, pad=0.02)
    bar.set_label(label)


def _view_of(ax: Axes) -> dict[str, list[float]]:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    return {"x": sorted([float(x0), float(x1)]), "y": sorted([float(y0), float(y1)])}


def map_figure(
    data: xr.DataArray,
    *,
    colormap: str,
    limits: Range | None,
    label: str,
    title: str,
    caption: str = "",
    view: View = (None, None),
    crs: str | None = None,
    nearest: bool = False,
) -> Figure:
    """One 2-D layer as the app draws it: colours from ``colormap`` (a titiler name) over
    ``limits`` (None: the data's range), limited to ``view`` (``(x_range, y_range)`` in the
    array's coordinates, None for the whole extent), with ``title``, axes in its geometry (radar:
    range / azimuth samples, azimuth down; map: easting / northing in metres with the CRS named,
    ``crs`` or the array's), a colourbar labelled ``label`` (put the units in it) and ``caption``
    under the plot. ``nearest`` draws without resampling between samples (wrapped phase).

    Returns the figure (two axes: the map and its colourbar); :func:`figure_png` saves it.
    """
    from matplotlib.figure import Figure

    if data.ndim != 2:
        raise ValueError(f"a map is 2-D; got dims {data.dims} (select one pair first)")
    crs = crs if crs is not None or _radar(data) else crs_name(data)
    width, height = 9.0, 5.0
    if not _radar(data):
        xs, ys = _axis(data, str(data.dims[-1])), _axis(data, str(data.dims[-2]))
        span_x = abs(view[0][1] - view[0][0]) if view[0] else float(abs(xs[-1] - xs[0]))
        span_y = abs(view[1][1] - view[1][0]) if view[1] else float(abs(ys[-1] - ys[0]))
        span_x = span_x or 1.0
        height = float(np.clip(7.5 * span_y / span_x, 3.0, 11.0)) + 0.5
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    _draw_map(fig, ax, data, colormap=colormap, limits=limits, label=label, view=view, crs=crs,
              nearest=nearest, title=title)  # fmt: skip
    if caption:
        fig.text(0.0, 0.0, _wrap(caption), fontsize=7.5, ha="left", va="top")
    fig.pairscope_metadata = {  # type: ignore[attr-defined]
        "Title": title, "Description": caption,
        "pairscope:view": json.dumps({**_view_of(ax), "crs": crs, "geometry":
                                      "radar" if _radar(data) else "map"}),
    }  # fmt: skip
    return fig


def figure_png(fig: Figure, *, dpi: int = 110, metadata: Mapping[str, str] | None = None) -> bytes:
    """The figure as PNG bytes (tight bounding box, so the caption is kept), with text chunks:
    ``Software``, what :func:`map_figure` / :func:`comparison_figure` recorded (title, caption,
    view) and ``metadata``."""
    info = {"Software": f"pairscope {__version__}"}
    info.update(getattr(fig, "pairscope_metadata", {}))
    info.update(metadata or {})
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                metadata=info)  # fmt: skip
    return out.getvalue()


def comparison_figure(
    product: xr.DataArray,
    ours: xr.DataArray,
    difference: xr.DataArray,
    *,
    colormap: str,
    limits: Range,
    difference_limit: float,
    histogram: np.ndarray,
    edges: np.ndarray,
    title: str,
    caption: str = "",
    view: View = (None, None),
    product_title: str = "Product",
    ours_title: str = "Ours",
) -> Figure:
    """The QA comparison of one view: product and ours with the same render, their difference
    (ours - product, ``rdbu_r`` over +-``difference_limit``) and the 2-D histogram of the view
    (``histogram[i, j]``: pixels with the product in bin i and ours in bin j of ``edges``,
    log colour, the 1:1 line dashed). Maps on the product's grid (easting / northing with the CRS
    named). Returns the figure (eight axes: four plots, four colourbars)."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    crs = crs_name(product)
    fig = Figure(figsize=(13.0, 10.0), layout="constrained")
    axes = fig.subplots(2, 2)
    unit = "coherence [0-1]"
    _draw_map(fig, axes[0, 0], product, colormap=colormap, limits=limits, label=unit, view=view,
              crs=crs, nearest=False, title=product_title, pixels=QA_DRAWN)  # fmt: skip
    _draw_map(fig, axes[0, 1], ours, colormap=colormap, limits=limits, label=unit, view=view,
              crs=crs, nearest=False, title=ours_title, pixels=QA_DRAWN)  # fmt: skip
    _draw_map(fig, axes[1, 0], difference, colormap="rdbu_r",
              limits=(-difference_limit, difference_limit), label="ours - product [coherence]",
              view=view, crs=crs, nearest=False, title="Difference (ours - product)",
              pixels=QA_DRAWN)  # fmt: skip
    ax = axes[1, 1]
    counts = np.asarray(histogram, dtype="float64")
    shown = np.ma.masked_less_equal(counts.T, 0.0)
    lo, hi = float(edges[0]), float(edges[-1])
    top = float(counts.max()) if counts.size and counts.max() > 0 else 1.0
    mesh = ax.pcolormesh(edges, edges, shown, cmap=_colormap("magma_r"),
                         norm=LogNorm(vmin=1.0, vmax=max(top, 1.0 + 1e-9)))  # fmt: skip
    ax.plot([lo, hi], [lo, hi], color="red", linestyle="--", linewidth=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("product coherence [0-1]")
    ax.set_ylabel("our coherence [0-1]")
    ax.set_title(f"2-D histogram of {int(counts.sum())} pixels", fontsize=10)
    bar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("pixels")
    fig.suptitle(title, fontsize=12)
    if caption:
        fig.text(0.0, 0.0, _wrap(caption, 160), fontsize=8, ha="left", va="top")
    fig.pairscope_metadata = {  # type: ignore[attr-defined]
        "Title": title, "Description": caption,
        "pairscope:view": json.dumps({**_view_of(axes[0, 0]), "crs": crs, "geometry": "map"}),
    }  # fmt: skip
    return fig


# ---------------------------------------------------------------------------------------------
# a pair as COGs + STAC item, zipped


def _as_pair_result(result: xr.Dataset, reference: Any, secondary: Any) -> xr.Dataset:
    """The app's one-pair Dataset (no ``pair`` dimension) as a one-pair result for export."""
    if "pair" in result.dims:
        return result
    ds = result.drop_vars(["reference", "secondary"], errors="ignore").expand_dims("pair")
    return ds.assign_coords(
        reference=("pair", [np.datetime64(reference, "ns")]),
        secondary=("pair", [np.datetime64(secondary, "ns")]),
    )


def _geometry_layers(geometry: xr.Dataset | None, template: xr.DataArray) -> xr.Dataset | None:
    """Look-vector / incidence layers on the pair's grid (``incidence`` named as export wants),
    or None when there are none or they lie on another grid."""
    if geometry is None:
        return None
    ds = geometry.rename({"incidence": "incidence_angle"}) if "incidence" in geometry else geometry
    names = [n for n in export.LAYERS if n in ds.data_vars and n not in ("coherence", "phase",
                                                                           "valid_count")]
    if not names:
        return None
    shape = tuple(int(n) for n in template.shape[-2:])
    if any(tuple(int(n) for n in ds[n].shape) != shape for n in names):
        return None
    return ds[names]


def _remote(href: str) -> bool:
    return href.startswith(("http://", "https://"))


def pair_zip(
    result: xr.Dataset,
    reference: Any,
    secondary: Any,
    *,
    inputs: Sequence[Any] = (),
    geometry: xr.Dataset | None = None,
    burst_id: str | None = None,
    polarization: str | None = None,
    window: tuple[int, int] | None = None,
    bias_corrected: bool | None = None,
    encoding: export.Encoding = "compact",
    georeference: export.Georeference = "gcps",
) -> Bundle:
    """One pair as a zip of COGs + STAC item, made in memory.

    ``result``: the pair's layers (``coherence``, ``phase``, ``valid_count``) in radar or map
    geometry, with or without a ``pair`` dimension; ``geometry``: optional look-vector /
    incidence layers, included when on the same grid. The rest as
    :func:`pairscope.io.export.export_pair`. The files are written into a temporary folder
    (removed before this returns, also on failure) and zipped under ``<item id>/``; in the item,
    asset hrefs are relative (``./<file>``) and ``derived_from`` links are kept only when they
    are remote URLs (a server's local paths mean nothing elsewhere; the input item ids stay in
    ``pairscope:input_items``). Returns the zip's bytes, its name and the item as written.
    """
    if "coherence" not in result:
        raise ValueError(
            f"the result has no 'coherence' variable (variables: {list(result.data_vars)})"
        )
    ds = _as_pair_result(result, reference, secondary)
    extra = _geometry_layers(geometry, ds["coherence"])
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp:
        item = export.export_pair(
            ds, 0, tmp, inputs=inputs, geometry=extra, burst_id=burst_id,
            polarization=polarization, window=window, bias_corrected=bias_corrected,
            encoding=encoding, georeference=georeference,
        )  # fmt: skip
        folder = pathlib.Path(tmp) / item.id
        data = json.loads((folder / f"{item.id}.json").read_text(encoding="utf-8"))
        data["links"] = [link for link in data.get("links", [])
                         if link.get("rel") != "derived_from" or _remote(str(link["href"]))]
        for asset in data.get("assets", {}).values():
            href = str(asset.get("href", ""))
            if _remote(href) or not href.startswith("./"):
                raise ValueError(f"asset href {href!r} of {item.id} is not relative to the item")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for path in sorted(folder.iterdir()):
                if path.name == f"{item.id}.json":
                    continue
                # COGs are ZSTD-compressed already: store them; deflate the rest (aux.xml)
                packed = zipfile.ZIP_STORED if path.suffix == ".tif" else zipfile.ZIP_DEFLATED
                zf.write(path, f"{item.id}/{path.name}", compress_type=packed)
            zf.writestr(f"{item.id}/{item.id}.json", json.dumps(data, indent=1),
                        compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return Bundle(f"{item.id}.zip", out.getvalue(), data)
