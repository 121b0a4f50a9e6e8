"""Sentinel-1 IW burst ids: parse every spelling, derive the relative orbit, read footprints.

One burst has many names. ESA numbers the bursts of a 12-day repeat cycle (175 orbits) from 1 to
375887 by their time since the cycle start; OPERA and ASF prefix the relative orbit ("track");
pairscope's canonical spelling is ``T{relative_orbit:03d}_{esa_burst_id:06d}_IW{n}``::

    >>> b = parse_burst_id("249435 IW2")
    >>> b.canonical, b.asf, b.opera
    ('T117_249435_IW2', '117_249435_IW2', 'T117-249435-IW2')

ESA's definition (Sentinel-1 Level 1 Detailed Algorithm Definition, eq. 9-89 to 9-91, as implemented
by isce-framework/s1-reader)::

    dt_b     = (relative_orbit - 1) * T_orb + (t_b - t_anx)
    burst_id = 1 + floor((dt_b - T_pre) / T_beam)

with ``T_orb = 12 d / 175``, ``T_beam = 2.758273 s`` (one IW1+IW2+IW3 beam cycle), ``T_pre =
2.299849 s`` and ``t_b`` the mid-burst time of IW2. Burst id ``k`` therefore names the beam cycle
that starts (IW1 sensing start) at ``c_k = T_pre + (k - 1) * T_beam`` seconds after the start of
the cycle, and its relative orbit is the orbit whose ascending node precedes that start:
``relative_orbit = 1 + floor(c_k / T_orb)``. The burst database confirms that a beam cycle which
straddles an ascending node keeps the orbit of its start for all three subswaths (``t015_032219_iw3``
lies 1.5 s after the node of orbit 16 and is still orbit 15).

Real IW1 bursts start between 30 ms before and 13 ms after the nominal ``c_k`` (annotation sensing
times of the SAFEs in the test data; ESA's burst map puts them 3 to 17 ms before). For the eight ids
whose nominal start lies within ``BOUNDARY_TOLERANCE`` (50 ms) of an ascending node (34367, 64438,
94509, 124580, 242716, 272787, 302858, 332929) the orbit cannot be decided from the id alone: both
orbits are accepted there (:func:`relative_orbit_candidates`), and the nominal rule is used when no
orbit is given.
"""

from __future__ import annotations

import csv
import json
import math
import pathlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BOUNDARY_TOLERANCE",
    "BURSTS_PER_CYCLE",
    "ORBITS_PER_CYCLE",
    "T_BEAM",
    "T_ORB",
    "T_PRE",
    "BurstFootprint",
    "BurstId",
    "burst_footprints",
    "burst_id_from_properties",
    "esa_burst_id_from_time",
    "find_burst_id",
    "parse_burst_id",
    "relative_orbit_candidates",
    "relative_orbit_for",
]

ORBITS_PER_CYCLE = 175
T_ORB = 12 * 86400.0 / ORBITS_PER_CYCLE
"""Nominal orbit period [s]: 175 orbits in the 12-day repeat cycle."""
T_BEAM = 2.758273
"""Duration of one IW beam cycle (IW1 + IW2 + IW3 bursts) [s]."""
T_PRE = 2.299849
"""IW preamble time [s]."""
BURSTS_PER_CYCLE = int((ORBITS_PER_CYCLE * T_ORB - T_PRE) // T_BEAM) + 1
"""Largest ESA burst id: 375887."""
BOUNDARY_TOLERANCE = 0.05
"""Half width [s] of the window around an ascending node where the orbit of a burst id is ambiguous."""

# Subswath burst durations inside one beam cycle [s] (s1-reader): IW1 -> IW2 -> IW3 -> IW1.
_IW_BURST_TIMES = (0.832, 1.078, 0.848)
_SUBSWATHS = ("IW1", "IW2", "IW3")

ACCEPTED_SPELLINGS = (
    "'249435 IW2' or '249435_IW2' (ESA id + subswath; the relative orbit is derived)",
    "'249435' with subswath='IW2'",
    "'117_249435_IW2' (ASF)",
    "'T117-249435-IW2' or 't117_249435_iw2' (OPERA / JPL burst database)",
    "'T117_249435_IW2' (pairscope canonical)",
)


def _cycle_start(esa_burst_id: int) -> float:
    """Nominal start of the beam cycle of ``esa_burst_id`` [s since the start of the 12-day cycle]."""
    return T_PRE + (esa_burst_id - 1) * T_BEAM


def _check_esa_id(esa_burst_id: int) -> None:
    if not 1 <= esa_burst_id <= BURSTS_PER_CYCLE:
        raise ValueError(
            f"ESA burst id {esa_burst_id} is out of range: ESA numbers the IW bursts of a 12-day cycle "
            f"from 1 to {BURSTS_PER_CYCLE}"
        )


def relative_orbit_for(esa_burst_id: int) -> int:
    """The relative orbit (1..175) of an ESA burst id, by ESA's definition (nominal beam-cycle start)."""
    _check_esa_id(esa_burst_id)
    return 1 + math.floor(_cycle_start(esa_burst_id) / T_ORB)


def relative_orbit_candidates(esa_burst_id: int) -> tuple[int, ...]:
    """Relative orbits a real burst with this id may carry.

    One orbit for all but the few ids whose nominal beam-cycle start lies within
    ``BOUNDARY_TOLERANCE`` of an ascending node, where the orbit on either side is possible.
    """
    _check_esa_id(esa_burst_id)
    start = _cycle_start(esa_burst_id)
    orbits = {
        1 + math.floor((start + d) / T_ORB) for d in (-BOUNDARY_TOLERANCE, 0.0, BOUNDARY_TOLERANCE)
    }
    return tuple(sorted(o for o in orbits if 1 <= o <= ORBITS_PER_CYCLE))


def esa_burst_id_from_time(seconds_since_anx: float, relative_orbit: int, subswath: str) -> BurstId:
    """The burst id of a burst from its sensing start time, ESA's forward definition.

    ``seconds_since_anx`` is the sensing start of the burst in ``subswath`` (annotation
    ``sensingTime`` minus the ascending node time) counted from the ascending node of
    ``relative_orbit``; it may exceed one orbit period for products that cross the node. The
    reference time of eq. 9-89 is the middle of the IW2 burst of the same beam cycle.
    """
    sw = _normalise_subswath(subswath)
    if not 1 <= relative_orbit <= ORBITS_PER_CYCLE:
        raise ValueError(f"relative orbit {relative_orbit} is out of range 1..{ORBITS_PER_CYCLE}")
    index = _SUBSWATHS.index(sw)
    iw1_start = seconds_since_anx - sum(_IW_BURST_TIMES[:index])
    mid_iw2 = iw1_start + _IW_BURST_TIMES[0] + _IW_BURST_TIMES[1] / 2
    cycle = ORBITS_PER_CYCLE * T_ORB
    dt_b = ((relative_orbit - 1) * T_ORB + mid_iw2) % cycle
    esa_id = 1 + math.floor((dt_b - T_PRE) / T_BEAM)
    if esa_id < 1:
        # 12 days hold 375887.38 beam cycles: a burst whose IW2 middle falls in the first T_pre
        # seconds after the node of orbit 1 has no ESA id by eq. 9-91.
        raise ValueError(
            f"a burst {seconds_since_anx:.3f} s after the node of orbit {relative_orbit} in {sw} falls "
            f"in the wrap-around gap of ESA's numbering (IW2 middle {dt_b:.3f} s after the cycle "
            f"start, before T_pre = {T_PRE} s): it has no ESA burst id"
        )
    # the orbit of a burst is that of its beam cycle's start (IW1 sensing start)
    orbit = (relative_orbit - 1 + math.floor(iw1_start / T_ORB)) % ORBITS_PER_CYCLE + 1
    return BurstId(orbit, esa_id, sw)


def _normalise_subswath(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"IW{value}"
    elif isinstance(value, str):
        text = value.strip().upper()
        if text in {"1", "2", "3"}:
            text = "IW" + text
    else:
        raise ValueError(f"subswath must be 'IW1', 'IW2' or 'IW3', got {value!r}")
    if text not in _SUBSWATHS:
        hint = " (EW bursts are not supported)" if text.startswith("EW") else ""
        raise ValueError(f"subswath must be 'IW1', 'IW2' or 'IW3', got {value!r}{hint}")
    return text


@dataclass(frozen=True, order=True)
class BurstId:
    """One Sentinel-1 IW burst: relative orbit, ESA burst id and subswath.

    Constructing one checks that the relative orbit agrees with the ESA id.
    """

    relative_orbit: int
    esa_burst_id: int
    subswath: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "subswath", _normalise_subswath(self.subswath))
        _check_esa_id(self.esa_burst_id)
        candidates = relative_orbit_candidates(self.esa_burst_id)
        if self.relative_orbit not in candidates:
            expected = " or ".join(str(c) for c in candidates)
            raise ValueError(
                f"relative orbit {self.relative_orbit} contradicts ESA burst id {self.esa_burst_id}: "
                f"by ESA's burst-id definition that burst lies on relative orbit {expected} "
                f"(T{relative_orbit_for(self.esa_burst_id):03d}_{self.esa_burst_id:06d}_{self.subswath})"
            )

    @property
    def canonical(self) -> str:
        """pairscope's spelling, ``T117_249435_IW2``."""
        return f"T{self.relative_orbit:03d}_{self.esa_burst_id:06d}_{self.subswath}"

    @property
    def asf(self) -> str:
        """ASF's ``fullBurstID``, ``117_249435_IW2``."""
        return f"{self.relative_orbit:03d}_{self.esa_burst_id:06d}_{self.subswath}"

    @property
    def opera(self) -> str:
        """OPERA's product-name spelling, ``T117-249435-IW2``."""
        return f"T{self.relative_orbit:03d}-{self.esa_burst_id:06d}-{self.subswath}"

    @property
    def jpl(self) -> str:
        """The JPL burst database / OPERA HDF5 spelling, ``t117_249435_iw2``."""
        return self.canonical.lower()

    def __str__(self) -> str:
        return self.canonical


_ID_SUBSWATH = re.compile(r"^(\d{1,6})\s*[\s_\-]?\s*(IW[1-3])$", re.IGNORECASE)
_ID_ONLY = re.compile(r"^(\d{1,6})$")
_WITH_ORBIT = re.compile(r"^T?(\d{1,3})[_\-](\d{1,6})[_\-](IW[1-3])$", re.IGNORECASE)


def _accepted() -> str:
    return "accepted spellings: " + "; ".join(ACCEPTED_SPELLINGS)


def parse_burst_id(text: object, subswath: object = None) -> BurstId:
    """Parse any common spelling of a Sentinel-1 IW burst id.

    ``text`` may also be an ``int`` ESA id (with ``subswath``) or a :class:`BurstId`. A spelling
    that carries a relative orbit is checked against the orbit that follows from its ESA id;
    a contradiction raises ``ValueError`` naming the expected orbit.
    """
    if isinstance(text, BurstId):
        if subswath is not None and _normalise_subswath(subswath) != text.subswath:
            raise ValueError(f"burst {text} is in {text.subswath}, not {subswath!r}")
        return text
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise ValueError(f"cannot read a burst id from {text!r}; {_accepted()}")
    raw = text.strip()
    sw_arg = None if subswath is None else _normalise_subswath(subswath)

    m = _WITH_ORBIT.match(raw)
    if m:
        orbit, esa_id, sw = int(m[1]), int(m[2]), m[3].upper()
        _check_subswath_agrees(raw, sw, sw_arg)
        if not 1 <= orbit <= ORBITS_PER_CYCLE:
            raise ValueError(
                f"{raw!r}: relative orbit {orbit} is out of range 1..{ORBITS_PER_CYCLE}; {_accepted()}"
            )
        try:
            return BurstId(orbit, esa_id, sw)
        except ValueError as err:
            raise ValueError(f"{raw!r}: {err}") from None
    m = _ID_SUBSWATH.match(raw)
    if m:
        sw = m[2].upper()
        _check_subswath_agrees(raw, sw, sw_arg)
        esa_id = int(m[1])
        return BurstId(relative_orbit_for(esa_id), esa_id, sw)
    m = _ID_ONLY.match(raw)
    if m:
        if sw_arg is None:
            raise ValueError(
                f"{raw!r} is an ESA burst id without a subswath: pass subswath='IW1', 'IW2' or 'IW3', "
                f"or write e.g. '{raw} IW2'; {_accepted()}"
            )
        esa_id = int(m[1])
        return BurstId(relative_orbit_for(esa_id), esa_id, sw_arg)
    raise ValueError(f"cannot read a Sentinel-1 IW burst id from {text!r}; {_accepted()}")


def _check_subswath_agrees(raw: str, found: str, given: str | None) -> None:
    if given is not None and given != found:
        raise ValueError(f"{raw!r} names subswath {found} but subswath={given!r} was given")


_EMBEDDED = (
    # T117_249435_IW2, T117-249435-IW2, t117_249435_iw2 inside a product name or item id
    re.compile(r"(?<![A-Za-z0-9])T(\d{3})[_\-](\d{6})[_\-](IW[1-3])(?![0-9])", re.IGNORECASE),
    # ASF burst product names: S1_372326_IW3_20180815T151558_VV_6BD3-BURST
    re.compile(r"(?<![A-Za-z0-9])S1_(\d{6})_(IW[1-3])(?![0-9])", re.IGNORECASE),
    # 117_249435_IW2 as a separate token
    re.compile(r"(?<![A-Za-z0-9])(\d{3})_(\d{6})_(IW[1-3])(?![0-9])", re.IGNORECASE),
)


def find_burst_id(text: str) -> BurstId | None:
    """Find a burst id embedded in a product name or item id (OPERA, ASF, pairscope), else None."""
    for i, pattern in enumerate(_EMBEDDED):
        m = pattern.search(text)
        if m is None:
            continue
        if i == 1:
            esa_id = int(m[1])
            return BurstId(relative_orbit_for(esa_id), esa_id, m[2].upper())
        return BurstId(int(m[1]), int(m[2]), m[3].upper())
    return None


# --- item / record properties ------------------------------------------------------------------

# (field holding a full spelling) in order of preference
_FULL_FIELDS = (
    "pairscope:burst_id",
    "s1:opera_burst_id",
    "opera:burst_id",
    "OPERA_BURST_ID",
    "operaBurstID",
    "s1:asf_burst_id",
    "fullBurstID",
)
# (ESA id field, subswath fields, relative-orbit fields)
_PART_FIELDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "s1:burst_id",
        ("s1:subswath", "s1:swath", "sar:subswath", "subswath", "subswath_name"),
        ("sat:relative_orbit", "s1:relative_orbit", "relative_orbit_number", "pathNumber"),
    ),
    (
        "burst_id",
        ("subswath_name", "subswath", "s1:subswath", "SUBSWATH_NAME"),
        ("relative_orbit_number", "track_number", "sat:relative_orbit", "relative_orbit"),
    ),
    (
        "relativeBurstID",
        ("subswath", "s1:subswath", "subswath_name"),
        ("pathNumber", "sat:relative_orbit", "relative_orbit_number"),
    ),
    (
        "esa_burst_id",
        ("subswath", "subswath_name", "s1:subswath"),
        ("relative_orbit", "relative_orbit_number", "sat:relative_orbit", "track_number"),
    ),
    ("BurstId", ("SwathIdentifier",), ("RelativeOrbitNumber",)),
)
# fields that state a relative orbit on their own, checked against the burst found
_ORBIT_FIELDS = (
    "sat:relative_orbit",
    "relative_orbit_number",
    "track_number",
    "pathNumber",
    "PATH_NUMBER",
)


def _scalar(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return _scalar(value[0])
    if type(value).__module__ == "numpy":  # numpy scalars from HDF5 metadata
        item = getattr(value, "item", None)
        if callable(item):
            return _scalar(item())
    return value


def _flatten(props: Mapping[str, Any]) -> dict[str, object]:
    """Top level, an ASF ``burst`` sub-record, and CMR ``AdditionalAttributes`` in one dict."""
    flat: dict[str, object] = {}
    attrs = props.get("AdditionalAttributes")
    if isinstance(attrs, list):
        for a in attrs:
            if isinstance(a, Mapping) and "Name" in a and "Values" in a:
                flat[str(a["Name"])] = _scalar(a["Values"])
    burst = props.get("burst")
    if isinstance(burst, Mapping):
        flat.update({str(k): _scalar(v) for k, v in burst.items()})
    for k, v in props.items():
        if k not in ("burst", "AdditionalAttributes"):
            flat[str(k)] = _scalar(v)
    return flat


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in {"", "None", "null"})


def _found(flat: Mapping[str, object]) -> Iterator[tuple[str, BurstId]]:
    for field in _FULL_FIELDS:
        value = flat.get(field)
        if not _missing(value):
            yield field, _parse_field(field, value)
    for id_field, sw_fields, orbit_fields in _PART_FIELDS:
        value = flat.get(id_field)
        if _missing(value):
            continue
        if isinstance(value, str) and not value.strip().isdigit():
            yield id_field, _parse_field(id_field, value)  # a full spelling, e.g. 't087_185683_iw2'
            continue
        sw = next((flat[f] for f in sw_fields if not _missing(flat.get(f))), None)
        if sw is None:
            continue  # an ESA id without its subswath does not name a burst
        try:
            burst = parse_burst_id(str(value), sw)
        except ValueError as err:
            raise ValueError(f"property {id_field}={value!r}: {err}") from None
        orbit_field = next((f for f in orbit_fields if not _missing(flat.get(f))), None)
        if orbit_field is not None:
            _check_orbit(burst, orbit_field, flat[orbit_field], id_field)
        yield id_field, burst


def _parse_field(field: str, value: object) -> BurstId:
    try:
        return parse_burst_id(value)
    except ValueError as err:
        raise ValueError(f"property {field}={value!r}: {err}") from None


def _check_orbit(burst: BurstId, orbit_field: str, orbit_value: object, source: str) -> None:
    try:
        orbit = int(str(orbit_value))
    except ValueError:
        raise ValueError(
            f"property {orbit_field}={orbit_value!r} is not a relative orbit number"
        ) from None
    if orbit not in relative_orbit_candidates(burst.esa_burst_id):
        raise ValueError(
            f"property {orbit_field}={orbit} contradicts the burst id in {source} "
            f"(ESA id {burst.esa_burst_id} lies on relative orbit {burst.relative_orbit}: {burst.canonical})"
        )


def burst_id_from_properties(props: Mapping[str, Any]) -> BurstId | None:
    """The burst named by a STAC item's properties or a catalogue record, or None if none is named.

    Understands pairscope's ``pairscope:burst_id``, ``s1:burst_id`` + ``s1:subswath`` (+
    ``sat:relative_orbit``), ``s1:asf_burst_id``, ``s1:opera_burst_id``, OPERA ``OPERA_BURST_ID``
    (also inside CMR ``AdditionalAttributes``) and HDF5 ``burst_id`` (``t087_185683_iw2``), ASF
    search records (``fullBurstID``, ``relativeBurstID`` + ``subswath``, also under ``burst``),
    ESA burst-map features (``burst_id`` + ``subswath_name`` + ``relative_orbit_number``) and CDSE
    OData bursts (``BurstId`` + ``SwathIdentifier`` + ``RelativeOrbitNumber``). When several
    fields name bursts they must agree, and a stated relative orbit must match the ESA id;
    otherwise ``ValueError`` says which fields disagree.
    """
    flat = _flatten(props)
    found = list(_found(flat))
    if not found:
        return None
    first_field, first = found[0]
    for field, other in found[1:]:
        if other != first:
            raise ValueError(
                f"the properties name two different bursts: {first_field} -> {first.canonical} "
                f"but {field} -> {other.canonical}"
            )
    for orbit_field in _ORBIT_FIELDS:
        if not _missing(flat.get(orbit_field)):
            _check_orbit(first, orbit_field, flat[orbit_field], first_field)
    return first


# --- footprints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurstFootprint:
    """A burst and its footprint as a GeoJSON geometry dict (lon, lat in degrees)."""

    burst: BurstId
    geometry: dict[str, Any]
    properties: dict[str, Any]


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _wkt_ring(text: str) -> list[list[float]]:
    ring = []
    for pair in text.split(","):
        values = re.findall(_NUMBER, pair)
        if len(values) < 2:
            raise ValueError(f"malformed WKT coordinate {pair.strip()!r}")
        ring.append([float(values[0]), float(values[1])])
    return ring


def wkt_to_geojson(wkt: str) -> dict[str, Any]:
    """Parse a WKT POLYGON or MULTIPOLYGON (2-D or 3-D) into a GeoJSON geometry dict (2-D)."""
    text = wkt.strip()
    kind = text.split("(", 1)[0].strip().upper().replace(" Z", "").strip()
    body = text[text.index("(") :] if "(" in text else ""
    if kind == "POLYGON":
        rings = re.findall(r"\(([^()]+)\)", body)
        return {"type": "Polygon", "coordinates": [_wkt_ring(r) for r in rings]}
    if kind == "MULTIPOLYGON":
        polygons = []
        for poly in re.findall(r"\(((?:\s*\([^()]+\)\s*,?)+)\)", body[1:-1]):
            polygons.append([_wkt_ring(r) for r in re.findall(r"\(([^()]+)\)", poly)])
        return {"type": "MultiPolygon", "coordinates": polygons}
    raise ValueError(f"only POLYGON and MULTIPOLYGON WKT are supported, got {kind or wkt[:30]!r}")


def _drop_z(coords: Any) -> Any:
    if isinstance(coords, Sequence) and coords and isinstance(coords[0], (int, float)):
        return [float(coords[0]), float(coords[1])]
    return [_drop_z(c) for c in coords]


def burst_footprints(path: str | pathlib.Path) -> list[BurstFootprint]:
    """Read burst footprints from an ESA burst-map GeoJSON or a burst database CSV.

    GeoJSON features need ``burst_id``, ``subswath_name`` and ``relative_orbit_number`` (ESA's
    burst map) or any field :func:`burst_id_from_properties` understands; the CSV needs
    ``burst_id_jpl`` and a WKT ``geometry`` column (the JPL/OPERA burst database). Each burst's
    stated relative orbit is checked against its ESA id.
    """
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"burst footprint file not found: {p}")
    if p.suffix.lower() in {".geojson", ".json"}:
        return _footprints_geojson(p)
    if p.suffix.lower() == ".csv":
        return _footprints_csv(p)
    raise ValueError(f"{p.name}: burst footprints are read from .geojson/.json or .csv files")


def _footprints_geojson(p: pathlib.Path) -> list[BurstFootprint]:
    doc = json.loads(p.read_text())
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise ValueError(f"{p.name} is not a GeoJSON FeatureCollection")
    out = []
    for i, feature in enumerate(features):
        props = dict(feature.get("properties") or {})
        try:
            burst = burst_id_from_properties(props)
        except ValueError as err:
            raise ValueError(f"{p.name}, feature {i}: {err}") from None
        if burst is None:
            raise ValueError(f"{p.name}, feature {i} names no burst (properties: {sorted(props)})")
        geometry = feature.get("geometry") or {}
        out.append(
            BurstFootprint(
                burst,
                {
                    "type": geometry.get("type"),
                    "coordinates": _drop_z(geometry.get("coordinates", [])),
                },
                props,
            )
        )
    return out


def _footprints_csv(p: pathlib.Path) -> list[BurstFootprint]:
    out = []
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        id_field = next(
            (c for c in ("burst_id_jpl", "burst_id", "opera_burst_id") if c in fields), None
        )
        if id_field is None or "geometry" not in fields:
            raise ValueError(
                f"{p.name}: need a 'burst_id_jpl' and a 'geometry' column, found {fields}"
            )
        for line, row in enumerate(reader, start=2):
            try:
                burst = parse_burst_id(row[id_field])
                if row.get("relative_orbit_number"):
                    _check_orbit(
                        burst, "relative_orbit_number", row["relative_orbit_number"], id_field
                    )
                geometry = wkt_to_geojson(row["geometry"])
            except ValueError as err:
                raise ValueError(f"{p.name}, line {line}: {err}") from None
            props = {k: v for k, v in row.items() if k != "geometry"}
            out.append(BurstFootprint(burst, geometry, props))
    return out
