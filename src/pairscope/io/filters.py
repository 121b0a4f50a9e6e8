"""Client-side filters of STAC items (datetime intervals, bbox, burst / orbit fields) and the CQL2
``filter`` sent to servers that conform to the Filter extension; both express the same selection.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pystac
import pystac.stac_io

if TYPE_CHECKING:
    from pairscope.bursts import BurstId
from pairscope.io.items import parse_instant, safe_burst_id

# --------------------------------------------------------------------------------- filters (local)


def parse_datetime_range(value: Any) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """``None``, ``"start/end"`` (``..`` for open), a single date (that whole day), or a
    (start, end) pair of str / date / datetime / datetime64 / None; date-only ends are inclusive."""
    if value is None:
        return None, None
    if isinstance(value, str) and "/" in value:
        a, b = value.split("/", 1)
        s, e = parse_instant(a, end=False), parse_instant(b, end=True)
    elif isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"datetime range needs (start, end), got {value!r}")
        s, e = parse_instant(value[0], end=False), parse_instant(value[1], end=True)
    else:
        s, e = parse_instant(value, end=False), parse_instant(value, end=True)
        if isinstance(value, _dt.datetime) or (isinstance(value, str) and "T" in value):
            e = s
    if s is not None and e is not None and e < s:
        raise ValueError(f"datetime range ends ({iso(e)}) before it starts ({iso(s)})")
    return s, e


def iso(d: _dt.datetime) -> str:
    return d.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bbox) != 4:
        raise ValueError(f"bbox must be (west, south, east, north), got {list(bbox)!r}")
    w, s, e, n = (float(v) for v in bbox)
    if s > n:
        raise ValueError(
            f"bbox south {s} is north of north {n}: order is (west, south, east, north)"
        )
    return w, s, e, n


def item_matches(
    item: pystac.Item,
    collections: Sequence[str] | None,
    bbox: Sequence[float] | None,
    start: _dt.datetime | None,
    end: _dt.datetime | None,
) -> bool:
    if collections and item.collection_id not in collections:
        return False
    if start is not None or end is not None:
        t0 = item.common_metadata.start_datetime or item.datetime
        t1 = item.common_metadata.end_datetime or item.datetime
        if t0 is None or t1 is None:
            return False
        t0 = t0 if t0.tzinfo else t0.replace(tzinfo=_dt.UTC)
        t1 = t1 if t1.tzinfo else t1.replace(tzinfo=_dt.UTC)
        if start is not None and t1 < start:
            return False
        if end is not None and t0 > end:
            return False
    if bbox is not None:
        return _intersects(item, bbox)
    return True


def _intersects(item: pystac.Item, bbox: Sequence[float]) -> bool:
    w, s, e, n = bbox
    if item.geometry is not None:
        try:
            import shapely.geometry
        except ImportError:  # pragma: no cover - shapely comes with the geo stack
            pass
        else:
            return bool(
                shapely.geometry.shape(item.geometry).intersects(shapely.geometry.box(w, s, e, n))
            )
    if item.bbox is None:
        return False
    iw, is_, ie, in_ = item.bbox[0], item.bbox[1], item.bbox[-2], item.bbox[-1]
    return not (ie < w or iw > e or in_ < s or is_ > n)


def item_matches_burst_orbit(
    item: pystac.Item, burst: BurstId | None, relative_orbit: int | None, orbit_state: str | None
) -> bool:
    p = item.properties
    found = None
    if burst is not None or relative_orbit is not None:
        found = safe_burst_id(item)
    if burst is not None and (found is None or found.canonical != burst.canonical):
        return False
    if relative_orbit is not None:
        rel = p.get("sat:relative_orbit")
        if rel is None and found is not None:
            rel = found.relative_orbit
        if rel is None or int(rel) != int(relative_orbit):
            return False
    if orbit_state is not None and str(p.get("sat:orbit_state", "")).lower() != orbit_state:
        return False
    return True


def cql2_filter(
    burst: BurstId | None, relative_orbit: int | None, orbit_state: str | None
) -> dict[str, Any] | None:
    def eq(prop: str, value: Any) -> dict[str, Any]:
        return {"op": "=", "args": [{"property": prop}, value]}

    args: list[dict[str, Any]] = []
    if burst is not None:
        args.append(
            {
                "op": "or",
                "args": [
                    eq("pairscope:burst_id", burst.canonical),
                    eq("s1:asf_burst_id", burst.asf),
                    eq("fullBurstID", burst.asf),
                    eq("s1:opera_burst_id", burst.opera),
                    eq("opera:burst_id", burst.opera),
                    eq("opera:burst_id", burst.canonical),
                    eq("OPERA_BURST_ID", burst.canonical),
                    eq("operaBurstID", burst.canonical),
                    {
                        "op": "and",
                        "args": [
                            eq("s1:burst_id", int(burst.esa_burst_id)),
                            eq("s1:subswath", burst.subswath),
                        ],
                    },
                ],
            }
        )
    if relative_orbit is not None:
        args.append(eq("sat:relative_orbit", int(relative_orbit)))
    if orbit_state is not None:
        args.append(eq("sat:orbit_state", orbit_state))
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


