"""Render definitions (STAC render extension v1.0.0 and v2.0.0) applied as titiler applies them.

A render names assets and how to colour them: ``nodata``, ``rescale``, ``colormap_name`` or an
explicit ``colormap``, optionally an ``expression`` over the assets' bands. :func:`apply_render`
follows titiler/rio-tiler's order:

1. mask no-data: the render's ``nodata`` (else the raster band's), NaN and infinities;
2. with ``unscale=True`` apply ``raster:scale``/``raster:offset`` first, so ``rescale`` is in
   physical units; otherwise ``rescale`` applies to the stored values (DN), as titiler does;
3. ``rescale`` each band linearly to 0..255 (values clipped, then truncated to uint8);
4. colour one band with the colormap (a 256-entry table, a discrete ``{value: colour}`` map or
   intervals), or show one band as grey / three bands as RGB.

Colormap names are titiler's (rio-tiler's): lower-case matplotlib names, sampled at 256 points
and truncated to uint8 exactly as rio-tiler built its tables, so an exported item renders the
same in a tile server as in pairscope.
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from pairscope._numba import pjit
from pairscope.errors import RenderError

__all__ = [
    "DEFAULT_RENDERS",
    "KNOWN_FIELDS",
    "Render",
    "RenderError",
    "apply_render",
    "block_factors",
    "block_reduce",
    "colormap_names",
    "get_colormap",
    "palette",
    "renders_for",
    "robust_limits",
    "to_physical",
]


KNOWN_FIELDS = (
    "title",
    "assets",
    "rescale",
    "nodata",
    "colormap_name",
    "colormap",
    "color_formula",
    "resampling",
    "expression",
    "minmax_zoom",
    "bidx",
)
"""Fields of the render extension (v2.0.0); anything else is kept as a vendor field."""

_LEGACY_TITILER = ("asset_bidx", "asset_expression")

# --- colormaps ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _matplotlib_names() -> dict[str, str]:
    import matplotlib

    return {name.lower(): name for name in matplotlib.colormaps}


def colormap_names() -> list[str]:
    """Every colormap name :func:`get_colormap` resolves (titiler's lower-case spelling)."""
    return sorted(_matplotlib_names())


@functools.lru_cache(maxsize=128)
def _colormap_table(key: str) -> npt.NDArray[np.uint8]:
    import matplotlib

    names = _matplotlib_names()
    if key not in names:
        close = difflib.get_close_matches(key, list(names), n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RenderError(
            f"unknown colormap name {key!r}{hint} Names are titiler's (lower-case matplotlib "
            f"names, '_r' reversed, e.g. 'viridis', 'rdbu', 'twilight', 'greys_r'); "
            f"rio-tiler's own extras (cfastie, rplumbo, schwarzwald, cmocean maps) are not bundled."
        )
    cmap = matplotlib.colormaps[names[key]]
    table = (cmap(np.linspace(0.0, 1.0, 256)) * 255).astype(np.uint8)
    table.flags.writeable = False
    return table


def get_colormap(name: str) -> npt.NDArray[np.uint8]:
    """The (256, 4) uint8 RGBA table of a titiler colormap name (case-insensitive, read-only)."""
    if not isinstance(name, str) or not name.strip():
        raise RenderError(f"a colormap name must be a non-empty string, got {name!r}")
    return _colormap_table(name.strip().lower())


def palette(name: str) -> list[str]:
    """The colormap as 256 ``#rrggbb`` strings (for Bokeh/HoloViews ``cmap=``)."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b, _ in get_colormap(name).tolist()]


def _parse_color(value: object) -> tuple[int, int, int, int]:
    if isinstance(value, str):
        m = re.fullmatch(r"#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})", value.strip())
        if m is None:
            raise RenderError(
                f"colormap colour {value!r} is not '#rgb', '#rgba', '#rrggbb' or '#rrggbbaa'"
            )
        digits = m[1]
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        rgba = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    elif isinstance(value, Sequence) and 3 <= len(value) <= 4:
        rgba = [int(v) for v in value]
    else:
        raise RenderError(f"colormap colour {value!r} must be [r, g, b], [r, g, b, a] or '#rrggbb'")
    if len(rgba) == 3:
        rgba.append(255)
    if any(not 0 <= v <= 255 for v in rgba):
        raise RenderError(f"colormap colour {value!r} has components outside 0..255")
    return (rgba[0], rgba[1], rgba[2], rgba[3])


def _key_number(key: object) -> float:
    try:
        return float(str(key))
    except ValueError:
        raise RenderError(f"colormap key {key!r} is not a number") from None


# --- render definitions ------------------------------------------------------------------------


def _as_float(value: object) -> float:
    if isinstance(value, str):
        return float(value.strip())  # 'nan', 'inf', '-inf' as the extension allows
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{value!r} is not a number")


@dataclass(frozen=True, eq=False)
class Render(Mapping[str, Any]):
    """One render definition; reads like the JSON dict (``render["rescale"]``) and keeps all fields.

    ``issues`` lists what makes it hard or impossible to apply (missing or unknown assets, a legacy
    titiler field, an unknown colormap name...), found when it was read.
    """

    key: str
    definition: Mapping[str, Any]
    source: str = "item"
    extension_version: str | None = None
    issues: tuple[str, ...] = field(default=())

    # Mapping view: the render-extension JSON object
    def __getitem__(self, name: str) -> Any:
        return self.definition[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.definition)

    def __len__(self) -> int:
        return len(self.definition)

    def to_dict(self) -> dict[str, Any]:
        """A copy of the JSON object, vendor fields included."""
        import copy

        return copy.deepcopy(dict(self.definition))

    @property
    def title(self) -> str:
        return str(self.definition.get("title") or self.key)

    @property
    def assets(self) -> tuple[str, ...]:
        value = self.definition.get("assets")
        return tuple(str(a) for a in value) if isinstance(value, list) else ()

    @property
    def rescale(self) -> tuple[tuple[float, float], ...] | None:
        return _rescale_ranges(self.definition)

    @property
    def colormap_name(self) -> str | None:
        value = self.definition.get("colormap_name")
        return str(value) if value is not None else None

    @property
    def extra(self) -> dict[str, Any]:
        """Fields outside the render extension (vendor fields such as ``tilematrixsets``)."""
        return {k: v for k, v in self.definition.items() if k not in KNOWN_FIELDS}


def _rescale_ranges(render: Mapping[str, Any]) -> tuple[tuple[float, float], ...] | None:
    value = render.get("rescale")
    if value is None:
        return None
    if isinstance(value, str):  # titiler query-string style "0,1"
        parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
        value = [parts[i : i + 2] for i in range(0, len(parts), 2)]
    if (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, (int, float)) for v in value)
    ):
        value = [value]  # a single [min, max]
    if not isinstance(value, Sequence) or not value:
        raise RenderError(f"rescale {render.get('rescale')!r} must be a list of [min, max] pairs")
    out = []
    for pair in value:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise RenderError(
                f"rescale {render.get('rescale')!r} must be a list of [min, max] pairs"
            )
        try:
            lo, hi = _as_float(pair[0]), _as_float(pair[1])
        except ValueError as err:
            raise RenderError(f"rescale {render.get('rescale')!r}: {err}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            raise RenderError(
                f"rescale [{pair[0]}, {pair[1]}] is empty or inverted: give [min, max] with "
                f"min < max (for a reversed colour ramp use colormap_name '<name>_r')"
            )
        out.append((lo, hi))
    return tuple(out)


def _extension_version(obj: Mapping[str, Any]) -> str | None:
    for url in obj.get("stac_extensions") or []:
        m = re.search(r"/render/v(\d+\.\d+\.\d+)/", str(url))
        if m:
            return m[1]
    return None


def _issues(
    key: str, render: Mapping[str, Any], owner: str, assets: Mapping[str, Any] | None
) -> list[str]:
    issues = []
    names = render.get("assets")
    if not isinstance(names, list) or not names:
        issues.append(f"render {key!r} lists no assets (the render extension requires 'assets')")
    elif assets is not None:
        missing = [a for a in names if a not in assets]
        if missing:
            issues.append(
                f"render {key!r} uses asset(s) {missing} that {owner} does not have "
                f"(assets: {sorted(assets)})"
            )
    try:
        _rescale_ranges(render)
    except RenderError as err:
        issues.append(f"render {key!r}: {err}")
    name = render.get("colormap_name")
    if name is not None:
        try:
            get_colormap(str(name))
        except RenderError as err:
            issues.append(f"render {key!r}: {err}")
    expression = render.get("expression")
    if expression is not None:
        if not isinstance(expression, str):
            issues.append(
                f"render {key!r}: only string expressions are evaluated, got {expression!r}"
            )
        else:
            try:
                _compile_expression(expression)
            except RenderError as err:
                issues.append(f"render {key!r}: {err}")
    for legacy in _LEGACY_TITILER:
        if legacy in render:
            issues.append(
                f"render {key!r}: {legacy!r} is a legacy titiler parameter, not a render-extension "
                f"field; it is kept but not applied"
            )
    if "color_formula" in render:
        issues.append(f"render {key!r}: color_formula is kept but not applied by pairscope")
    return issues


def _as_dict(obj: Any) -> dict[str, Any]:
    """The parts of a STAC Item/Collection that renders need, without resolving any link.

    (pystac's ``to_dict`` resolves the root link, which may be a remote URL.)
    """
    if isinstance(obj, Mapping):
        return dict(obj)
    properties = getattr(obj, "properties", None)
    assets = getattr(obj, "assets", None)
    extra = getattr(obj, "extra_fields", None)
    if isinstance(assets, Mapping) and isinstance(extra, Mapping):
        doc: dict[str, Any] = dict(extra)
        doc["id"] = getattr(obj, "id", "?")
        doc["stac_extensions"] = list(getattr(obj, "stac_extensions", None) or [])
        doc["assets"] = {k: _asset_dict(a) for k, a in assets.items()}
        if isinstance(properties, Mapping):
            doc["type"] = "Feature"
            doc["properties"] = dict(properties)
        else:
            doc["type"] = "Collection"
            item_assets = getattr(obj, "item_assets", None)  # pystac >= 1.12
            if isinstance(item_assets, Mapping) and item_assets:
                doc["item_assets"] = {k: _asset_dict(a) for k, a in item_assets.items()}
        return doc
    raise TypeError(f"expected a STAC Item or Collection (pystac object or dict), got {type(obj)}")


def _asset_dict(asset: Any) -> dict[str, Any]:
    if isinstance(asset, Mapping):
        return dict(asset)
    properties = getattr(asset, "properties", None)  # pystac ItemAssetDefinition
    if isinstance(properties, Mapping):
        return dict(properties)
    extra = getattr(asset, "extra_fields", None)
    return dict(extra) if isinstance(extra, Mapping) else {}


def _renders_of(owner: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    if owner.get("type") == "Feature":
        value = (owner.get("properties") or {}).get("renders", owner.get("renders"))
    else:
        value = owner.get("renders")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RenderError(
            f"{where}: 'renders' must be an object of named render definitions, "
            f"got {type(value).__name__}"
        )
    return value


def _read_renders(
    owner: Mapping[str, Any], renders: Mapping[str, Any], where: str, source: str
) -> dict[str, Render]:
    assets = owner.get("assets")
    if source == "collection" and owner.get("item_assets"):
        assets = {**(assets or {}), **owner["item_assets"]}
    version = _extension_version(owner)
    out = {}
    for key, definition in renders.items():
        if not isinstance(definition, Mapping):
            out[str(key)] = Render(
                str(key), {}, source, version, (f"render {key!r} is not an object: {definition!r}",)
            )
            continue
        issues = _issues(
            str(key), definition, where, assets if isinstance(assets, Mapping) else None
        )
        out[str(key)] = Render(str(key), dict(definition), source, version, tuple(issues))
    return out


def renders_for(item_or_collection: Any, *, collection: Any = None) -> dict[str, Render]:
    """The render definitions of a STAC item (its own, else its collection's) or collection.

    Accepts pystac ``Item``/``Collection`` objects or their dicts. For an item without ``renders``
    pass its ``collection``; otherwise a pystac item uses its collection link only when that is
    already in memory or a local file (a remote collection is never fetched from here).
    Render extension v1.0.0 and v2.0.0 are read alike; unknown vendor fields are kept. Each
    :class:`Render` lists its ``issues``; a malformed ``renders`` field raises :class:`RenderError`.
    """
    doc = _as_dict(item_or_collection)
    is_item = doc.get("type") == "Feature"
    where = f"{'item' if is_item else 'collection'} {doc.get('id', '?')!r}"
    own = _renders_of(doc, where)
    if own is not None or not is_item:
        return _read_renders(doc, own or {}, where, "item" if is_item else "collection")
    if collection is None:
        collection = _local_collection(item_or_collection)
    if collection is None:
        return {}
    coll = _as_dict(collection)
    coll_where = f"collection {coll.get('id', '?')!r}"
    renders = _renders_of(coll, coll_where)
    if renders is None:
        return {}
    rendered = _read_renders(coll, renders, coll_where, "collection")
    # the item's own assets decide whether the collection's render can be applied to it
    item_assets = doc.get("assets") or {}
    out = {}
    for key, r in rendered.items():
        issues = [i for i in r.issues if "does not have" not in i]
        missing = [a for a in r.assets if a not in item_assets]
        if missing:
            issues.append(
                f"render {key!r} (from {coll_where}) uses asset(s) {missing} that {where} does "
                f"not have (assets: {sorted(item_assets)})"
            )
        out[key] = Render(key, r.definition, "collection", r.extension_version, tuple(issues))
    return out


def _local_collection(item: Any) -> Any:
    """A pystac item's collection when it is in memory or a local file; never over the network.

    (pystac would fetch a remote collection link with its own client: no token, no timeout.)
    """
    get_link = getattr(item, "get_single_link", None)
    if not callable(get_link):
        return None
    link = get_link("collection")
    if link is None:
        return None
    if link.is_resolved():
        return link.target
    href = str(link.get_absolute_href() or link.href)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", href) and not href.startswith("file://"):
        return None
    try:
        return item.get_collection()
    except Exception:  # a broken local link: no collection renders
        return None


def to_physical(render: Mapping[str, Any], scale: float, offset: float = 0.0) -> dict[str, Any]:
    """The render with its ``rescale`` converted from stored values to physical units.

    ``physical = stored * scale + offset``: the Terrascope coherence render ``rescale [[38, 216]]``
    with ``raster:scale`` 0.004 becomes ``[[0.152, 0.864]]``. ``nodata`` is a stored value and has
    no meaning in physical units (physical arrays carry NaN), so it is dropped.
    """
    if not math.isfinite(scale) or scale == 0:
        raise RenderError(f"raster:scale must be a finite non-zero number, got {scale!r}")
    out = dict(render.to_dict() if isinstance(render, Render) else render)
    ranges = _rescale_ranges(out)
    if ranges is not None:
        converted = []
        for lo, hi in ranges:
            a, b = lo * scale + offset, hi * scale + offset
            converted.append(sorted((_tidy(a), _tidy(b))))
        out["rescale"] = converted
    out.pop("nodata", None)
    return out


def _tidy(value: float) -> float:
    """Round away float noise (38 * 0.004 = 0.15200000000000002 -> 0.152)."""
    return float(f"{value:.12g}")


def robust_limits(
    data: npt.ArrayLike, percentiles: tuple[float, float] = (2.0, 98.0)
) -> tuple[float, float]:
    """Colour limits from percentiles of the finite values (for layers without a fixed range)."""
    values = np.asarray(data, dtype="float64")
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise RenderError("no finite values to take colour limits from")
    lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


# --- expressions --------------------------------------------------------------------------------

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "log": np.log,
    "log10": np.log10,
    "exp": np.exp,
    "cos": np.cos,
    "sin": np.sin,
    "arctan": np.arctan,
}


def _compile_expression(expression: str) -> list[ast.expr]:
    blocks = [b.strip() for b in expression.split(";") if b.strip()]
    if not blocks:
        raise RenderError(f"expression {expression!r} is empty")
    out = []
    for block in blocks:
        try:
            tree = ast.parse(block, mode="eval")
        except SyntaxError:
            raise RenderError(f"expression {block!r} is not valid arithmetic") from None
        for node in ast.walk(tree):
            allowed = (
                ast.Expression,
                ast.BinOp,
                ast.UnaryOp,
                ast.USub,
                ast.UAdd,
                ast.Constant,
                ast.Name,
                ast.Load,
                ast.Call,
                *_BINARY,
            )
            if not isinstance(node, allowed):
                raise RenderError(
                    f"expression {block!r} uses {type(node).__name__}; only + - * / ** , numbers, "
                    f"band names and {sorted(_FUNCTIONS)} are evaluated"
                )
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name)
                and node.func.id in _FUNCTIONS
                and len(node.args) == 1
            ):
                raise RenderError(f"expression {block!r}: only {sorted(_FUNCTIONS)} can be called")
        out.append(tree.body)
    return out


def _evaluate(node: ast.expr, bands: Mapping[str, npt.NDArray[np.float64]]) -> Any:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
            raise RenderError(f"expression constant {node.value!r} is not a number")
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in bands:
            raise RenderError(f"expression names {node.id!r}, but the bands are {sorted(bands)}")
        return bands[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, bands)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, bands), _evaluate(node.right, bands))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](_evaluate(node.args[0], bands))
    raise RenderError(f"cannot evaluate {ast.dump(node)}")


# --- applying a render --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Band:
    nodata: float | None = None
    scale: float = 1.0
    offset: float = 0.0


def _band_info(raw: Mapping[str, Any], defaults: _Band = _Band()) -> _Band:
    nodata = raw.get("nodata", defaults.nodata)
    scale = raw.get("scale", raw.get("raster:scale", defaults.scale))
    offset = raw.get("offset", raw.get("raster:offset", defaults.offset))
    try:
        return _Band(
            None if nodata is None else _as_float(nodata),
            1.0 if scale is None else _as_float(scale),
            0.0 if offset is None else _as_float(offset),
        )
    except ValueError as err:
        raise RenderError(f"raster band {dict(raw)!r}: {err}") from None


def _bands(raster_bands: Any) -> list[_Band]:
    """Band nodata/scale/offset from ``raster:bands`` (v1), asset-level fields or ``bands`` (v2)."""
    if raster_bands is None:
        return []
    if isinstance(raster_bands, Mapping):
        asset_level = _band_info(raster_bands)
        for list_field in ("raster:bands", "bands"):
            listed = raster_bands.get(list_field)
            if isinstance(listed, list) and listed and all(isinstance(b, Mapping) for b in listed):
                return [_band_info(b, asset_level) for b in listed]
        return [asset_level]
    if isinstance(raster_bands, Sequence) and not isinstance(raster_bands, str):
        return [_band_info(b) if isinstance(b, Mapping) else _Band() for b in raster_bands]
    raise RenderError(
        f"raster_bands must be a band dict, an asset dict or a list of band dicts, got {raster_bands!r}"
    )


def _to_index(values: npt.NDArray[np.float64], lo: float, hi: float) -> npt.NDArray[np.uint8]:
    """rio-tiler's linear rescale to 0..255: clip, scale, truncate to uint8."""
    t = np.nan_to_num((np.clip(values, lo, hi) - lo) / (hi - lo), nan=0.0)  # NaN: masked anyway
    # the 1e-6 (in 1/255 units) keeps DN and physical rescales of the same data on the same index
    return np.floor(t * 255.0 + 1e-6).clip(0, 255).astype(np.uint8)


def _default_limits(
    values: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_], dtype: np.dtype[Any]
) -> tuple[float, float]:
    if dtype == np.uint8:
        return 0.0, 255.0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    finite = values[valid]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _apply_colormap(
    index: npt.NDArray[np.uint8] | None,
    values: npt.NDArray[np.float64],
    colormap: Any,
) -> npt.NDArray[np.uint8]:
    """RGBA from an explicit colormap: 256-entry table, discrete values, or intervals."""
    shape = values.shape + (4,)
    out = np.zeros(shape, dtype=np.uint8)
    if isinstance(colormap, Sequence) and not isinstance(colormap, str):
        for entry in colormap:  # intervals: [[min, max], colour], min <= v < max
            try:
                (lo_raw, hi_raw), colour = entry
                lo, hi = _as_float(lo_raw), _as_float(hi_raw)
            except (TypeError, ValueError):
                raise RenderError(
                    f"interval colormap entry {entry!r} must be [[min, max], colour]"
                ) from None
            source = index.astype(np.float64) if index is not None else values
            out[(source >= lo) & (source < hi)] = _parse_color(colour)
        return out
    if not isinstance(colormap, Mapping) or not colormap:
        raise RenderError(
            f"colormap must be a non-empty object or a list of intervals, got {colormap!r}"
        )
    keys = {_key_number(k): _parse_color(v) for k, v in colormap.items()}
    is_table = len(keys) == 256 and all(k.is_integer() and 0 <= k <= 255 for k in keys)
    if is_table:
        table = np.zeros((256, 4), dtype=np.uint8)
        for k, rgba in keys.items():
            table[int(k)] = rgba
        lookup = index if index is not None else np.clip(values, 0, 255).astype(np.uint8)
        result: npt.NDArray[np.uint8] = table[lookup]
        return result
    source_values = index.astype(np.float64) if index is not None else values
    for k, rgba in keys.items():
        out[source_values == k] = rgba
    return out


def apply_render(
    data: npt.ArrayLike,
    render: Mapping[str, Any],
    raster_bands: Any = None,
    *,
    unscale: bool = False,
) -> tuple[npt.NDArray[np.uint8], tuple[float, float]]:
    """Colour ``data`` with a render definition; returns RGBA uint8 ``(..., 4)`` and ``(vmin, vmax)``.

    ``data`` holds one band of any shape, or ``(bands, ...)`` when the render combines several
    assets (an ``expression`` over ``b1..bn`` or the asset names, or an RGB composite with one
    ``rescale`` range per band). Masked arrays' masks count as no-data. ``raster_bands`` gives
    ``nodata``/``scale``/``offset`` per band (``raster:bands`` entries, an asset dict with
    asset-level ``nodata``/``raster:scale``, or a list). ``(vmin, vmax)`` are the colour limits of
    the (first) band in the units the rescale was applied in. No-data pixels are transparent.
    """
    definition = render.to_dict() if isinstance(render, Render) else dict(render)
    array: np.ma.MaskedArray[Any, Any] = np.ma.asarray(data)
    mask_in = np.ma.getmaskarray(array)
    stored = np.asarray(array.data)
    if stored.dtype.kind == "c":
        raise RenderError("complex data has no colour: render its amplitude or phase instead")
    if stored.dtype.kind not in "biuf":
        raise RenderError(f"cannot render data of dtype {stored.dtype}")
    raw_assets = definition.get("assets")
    assets: list[str] = [str(a) for a in raw_assets] if isinstance(raw_assets, list) else []
    ranges = _rescale_ranges(definition)
    expression = definition.get("expression")
    has_colormap = definition.get("colormap") is not None or definition.get("colormap_name")

    if expression is not None and not isinstance(expression, str):
        raise RenderError(f"only string expressions are evaluated, got {expression!r}")
    n_inputs = 1
    if isinstance(expression, str):
        if len(assets) > 1:
            n_inputs = len(assets)
        elif stored.ndim >= 3:
            n_inputs = stored.shape[0]
    elif ranges is not None and len(ranges) > 1 and stored.ndim >= 3:
        n_inputs = len(ranges)
    elif (
        len(assets) > 1
        and stored.ndim >= 3
        and (stored.shape[0] == len(assets) or not has_colormap)
    ):
        n_inputs = len(assets)
    if n_inputs > 1 and (stored.ndim < 2 or stored.shape[0] != n_inputs):
        raise RenderError(
            f"the render combines {n_inputs} bands (assets {assets}); give data of shape "
            f"({n_inputs}, ...), got {stored.shape}"
        )

    bands = _bands(raster_bands)
    planes = list(stored) if n_inputs > 1 else [stored]
    masks = list(mask_in) if n_inputs > 1 else [mask_in]
    if bands and len(bands) not in (1, len(planes)):
        raise RenderError(f"{len(bands)} raster bands given for {len(planes)} data bands")
    render_nodata = definition.get("nodata")
    values: list[npt.NDArray[np.float64]] = []
    valid: list[npt.NDArray[np.bool_]] = []
    for i, plane in enumerate(planes):
        info = bands[i if len(bands) > 1 else 0] if bands else _Band()
        nodata = _as_float(render_nodata) if render_nodata is not None else info.nodata
        v = plane.astype(np.float64)
        ok = np.isfinite(v) & ~masks[i]
        if nodata is not None and not math.isnan(nodata):
            ok &= v != nodata
        if unscale:
            v = v * info.scale + info.offset
        values.append(v)
        valid.append(ok)

    if isinstance(expression, str):
        names = {f"b{i + 1}": v for i, v in enumerate(values)}
        names.update({str(a): values[i] for i, a in enumerate(assets[: len(values)])})
        all_valid = np.logical_and.reduce(valid)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            results = [
                np.asarray(_evaluate(node, names), dtype=np.float64)
                for node in _compile_expression(expression)
            ]
        values = [np.broadcast_to(r, all_valid.shape).copy() for r in results]
        valid = [all_valid & np.isfinite(r) for r in values]
    dtype = stored.dtype if not (unscale or isinstance(expression, str)) else np.dtype(np.float64)

    if ranges is not None and len(ranges) not in (1, len(values)):
        raise RenderError(f"rescale has {len(ranges)} ranges for {len(values)} bands")
    limits = [
        (
            ranges[i if len(ranges) > 1 else 0]
            if ranges is not None
            else _default_limits(v, ok, dtype)
        )
        for i, (v, ok) in enumerate(zip(values, valid, strict=True))
    ]
    indices = [_to_index(v, lo, hi) for v, (lo, hi) in zip(values, limits, strict=True)]

    if has_colormap:
        if len(values) != 1:
            raise RenderError(
                f"a colormap colours one band, but the render gives {len(values)} bands "
                f"(assets {assets}); drop the colormap or select one band"
            )
        if definition.get("colormap") is not None:
            rgba = _apply_colormap(
                indices[0] if ranges is not None else None, values[0], definition["colormap"]
            )
        else:
            rgba = get_colormap(str(definition["colormap_name"]))[indices[0]]
        rgba = rgba.copy()
        alpha_ok = valid[0]
    elif len(values) == 1:
        rgba = np.empty(values[0].shape + (4,), dtype=np.uint8)
        rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = indices[0]
        rgba[..., 3] = 255
        alpha_ok = valid[0]
    elif len(values) == 3:
        rgba = np.empty(values[0].shape + (4,), dtype=np.uint8)
        for c in range(3):
            rgba[..., c] = indices[c]
        rgba[..., 3] = 255
        alpha_ok = np.logical_and.reduce(valid)
    else:
        raise RenderError(
            f"cannot show {len(values)} bands without a colormap: give one band (grey or a "
            f"colormap) or three (RGB)"
        )
    rgba[~alpha_ok] = 0
    return rgba, (float(limits[0][0]), float(limits[0][1]))


# --- pairscope's layers --------------------------------------------------------------------------


def _layer(title: str, units: str, lo: float, hi: float, cmap: str, asset: str) -> dict[str, Any]:
    return {
        "title": title,
        "assets": [asset],
        "rescale": [[lo, hi]],
        "colormap_name": cmap,
        "units": units,
    }


_INCIDENCE = _layer("Incidence angle (ellipsoid)", "deg", 30.0, 46.0, "viridis", "incidence_angle")

DEFAULT_RENDERS: dict[str, dict[str, Any]] = {
    "coherence": _layer("Coherence", "1", 0.0, 1.0, "viridis", "coherence"),
    "phase": _layer("Differential phase (wrapped)", "rad", -math.pi, math.pi, "twilight", "phase"),
    # amplitude in dB of calibrated backscatter; uncalibrated layers take robust_limits(data)
    "amplitude": _layer("Amplitude", "dB", -25.0, 5.0, "greys_r", "amplitude"),
    "look_x": _layer(
        "Look vector x (ECEF, antenna to target)", "1", -1.0, 1.0, "viridis", "look_x"
    ),
    "look_y": _layer(
        "Look vector y (ECEF, antenna to target)", "1", -1.0, 1.0, "viridis", "look_y"
    ),
    "look_z": _layer(
        "Look vector z (ECEF, antenna to target)", "1", -1.0, 1.0, "viridis", "look_z"
    ),
    "los_east": _layer(
        "Line of sight east (target to sensor)", "1", -1.0, 1.0, "viridis", "los_east"
    ),
    "los_north": _layer(
        "Line of sight north (target to sensor)", "1", -1.0, 1.0, "viridis", "los_north"
    ),
    "los_up": _layer("Line of sight up (target to sensor)", "1", -1.0, 1.0, "viridis", "los_up"),
    "incidence_angle": _INCIDENCE,
    "incidence": {**_INCIDENCE, "assets": ["incidence"]},
    "local_incidence_angle": _layer(
        "Local incidence angle (DEM)", "deg", 0.0, 90.0, "viridis", "local_incidence_angle"
    ),
}
"""Render-extension definitions for pairscope's layers (``units`` is a pairscope vendor field)."""


# --- display resampling ------------------------------------------------------------------------


def block_factors(shape: tuple[int, int], pixels: tuple[int, int]) -> tuple[int, int]:
    """Samples per drawn cell (rows, columns) for ``shape`` samples on ``pixels`` (rows,
    columns): whole samples, at least one cell per pixel (so between 1x and 2x the pixels)."""
    return (max(1, int(shape[0]) // max(1, int(pixels[0]))),
            max(1, int(shape[1]) // max(1, int(pixels[1]))))  # fmt: skip


def block_reduce(
    values: npt.NDArray[np.floating[Any]], factors: tuple[int, int], *, first: bool = False
) -> npt.NDArray[np.floating[Any]]:
    """``values`` in blocks of ``factors`` (rows, columns), as maps are drawn at screen size: the
    mean of each block's finite samples (NaN where it has none) or, with ``first`` (wrapped
    phase: never a mean of angles), its first sample. The last blocks of a row or column may be
    partial; the result has ``ceil(shape / factors)`` cells, float64 for float64 input and
    float32 otherwise. Sums are float64.

    One pass over the samples (numba, parallel over block rows): the app's maps call it on every
    pan and zoom, a whole full-size burst (1500 x 21000) in ~30 ms on 2 cores."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"block_reduce needs a 2-D array, got shape {arr.shape}")
    fy, fx = (max(1, int(f)) for f in factors)
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    if first:
        return np.array(arr[::fy, ::fx], dtype=dtype)
    if fy == 1 and fx == 1:  # each sample its own block: non-finite ones have no mean
        return np.where(np.isfinite(arr), arr, np.nan).astype(dtype, copy=False)
    rows, cols = arr.shape
    out = np.empty((-(-rows // fy), -(-cols // fx)), dtype=dtype)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    _block_mean(arr, fy, fx, out)
    return out


@pjit
def _block_mean(values: Any, fy: int, fx: int, out: Any) -> None:  # pragma: no cover - numba
    rows, cols = values.shape
    ny, nx = out.shape
    for i in numba.prange(ny):
        r0 = i * fy
        r1 = min(r0 + fy, rows)
        for j in range(nx):
            c0 = j * fx
            c1 = min(c0 + fx, cols)
            total = 0.0
            count = 0
            for r in range(r0, r1):
                for c in range(c0, c1):
                    v = values[r, c]
                    if math.isfinite(v):
                        total += v
                        count += 1
            out[i, j] = total / count if count > 0 else np.nan
