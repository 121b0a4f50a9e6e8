"""Burst ids: spellings, ESA's relative-orbit rule checked against every real burst in tests/data.

Real (relative orbit, ESA burst id) pairs come from the JPL burst database sample (CSV), ESA's
burst map (GeoJSON), ASF search records (YAML), the ``burstId`` elements of SAFE annotations
(with the manifest's relative orbit), the OPERA CSLC HDF5 file, and burst ids computed by ESA's
forward definition from annotation sensing times of SAFEs without ``burstId`` elements.
``test_relative_orbit_rule_on_every_real_pair`` checks all 118 distinct pairs.
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import Any

import h5py
import pytest
import yaml

from pairscope import bursts
from pairscope.bursts import (
    BurstId,
    burst_footprints,
    burst_id_from_properties,
    esa_burst_id_from_time,
    find_burst_id,
    parse_burst_id,
    relative_orbit_candidates,
    relative_orbit_for,
)

# --- collecting the real pairs -----------------------------------------------------------------

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.fixture(scope="module")
def asf_docs(test_data: pathlib.Path) -> dict[str, Any]:
    """The ASF search records, parsed once (the stack file is 1.8 MB)."""
    folder = test_data / "bursts" / "asf_search"
    return {p.name: yaml.load(p.read_text(), Loader=_LOADER) for p in sorted(folder.glob("*.yml"))}


def _asf_records(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, dict):
        if "fullBurstID" in obj or "operaBurstID" in obj:
            yield obj
        for value in obj.values():
            yield from _asf_records(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _asf_records(value)


def _annotations(shared: pathlib.Path) -> Iterator[tuple[str, bytes, bytes]]:
    """(name, annotation XML, manifest) for every SAFE annotation, also inside the zip."""
    for ann in sorted(shared.glob("**/annotation/s1*.xml")):
        safe = ann.parent.parent
        yield ann.name, ann.read_bytes(), (safe / "manifest.safe").read_bytes()
    for zpath in sorted(shared.glob("s1-reader/*.zip")):
        with zipfile.ZipFile(zpath) as z:
            manifest = z.read(next(n for n in z.namelist() if n.endswith("manifest.safe")))
            for name in z.namelist():
                if re.search(r"annotation/s1[^/]*\.xml$", name):
                    yield name, z.read(name), manifest


def _start_orbit(manifest: bytes) -> int:
    m = re.search(rb'relativeOrbitNumber type="start">(\d+)<', manifest)
    assert m is not None
    return int(m[1])


def _sensing_since_anx(burst: ET.Element) -> float:
    """Burst sensing start since the ascending node, from the annotation's burst record."""

    def t(tag: str) -> dt.datetime:
        return dt.datetime.fromisoformat(burst.findtext(tag, ""))

    anx = float(burst.findtext("azimuthAnxTime", "nan"))
    return anx + (t("sensingTime") - t("azimuthTime")).total_seconds()


@pytest.fixture(scope="module")
def real_pairs(
    test_data: pathlib.Path, asf_docs: dict[str, Any]
) -> dict[str, set[tuple[int, int]]]:
    """Distinct (relative orbit, ESA id) pairs per source."""
    out: dict[str, set[tuple[int, int]]] = {}
    out["burst db csv"] = {
        (f.burst.relative_orbit, f.burst.esa_burst_id)
        for f in burst_footprints(test_data / "bursts" / "esa_burst_db_sample.csv")
    }
    out["burst map geojson"] = {
        (int(f.properties["relative_orbit_number"]), int(f.properties["burst_id"]))
        for f in burst_footprints(test_data / "bursts" / "s1_bursts_glacierSouthTyrol.geojson")
    }
    asf: set[tuple[int, int]] = set()
    for doc in asf_docs.values():
        for rec in _asf_records(doc):
            full = rec.get("fullBurstID") or rec["operaBurstID"]
            m = re.match(r"T?(\d+)_(\d+)_IW[123]$", full)
            assert m is not None, full
            asf.add((int(m[1]), int(m[2])))
    out["asf search"] = asf
    annotated: set[tuple[int, int]] = set()
    for _, ann, manifest in _annotations(test_data):
        orbit = _start_orbit(manifest)
        for b in ET.fromstring(ann).iter("burst"):
            text = b.findtext("burstId")
            if text:
                annotated.add((orbit, int(text)))
    out["annotation burstId"] = annotated
    (h5path,) = (test_data / "opera").glob("*.h5")
    with h5py.File(h5path, "r") as h5:
        opera_id = h5["identification/burst_id"][()].decode()
        track = int(h5["identification/track_number"][()])
    m = re.match(r"t(\d+)_(\d+)_iw\d$", opera_id)
    assert m is not None and int(m[1]) == track
    out["opera hdf5"] = {(track, int(m[2]))}
    return out


def test_relative_orbit_rule_on_every_real_pair(
    real_pairs: dict[str, set[tuple[int, int]]],
) -> None:
    every = set().union(*real_pairs.values())
    sizes = {k: len(v) for k, v in real_pairs.items()}
    assert sizes == {
        "burst db csv": 67,
        "burst map geojson": 17,
        "asf search": 5,
        "annotation burstId": 38,
        "opera hdf5": 1,
    }
    assert len(every) == 118  # distinct pairs checked, over 19 relative orbits
    assert len({o for o, _ in every}) == 19
    wrong = sorted((o, k, relative_orbit_for(k)) for o, k in every if relative_orbit_for(k) != o)
    assert wrong == []
    # each also round-trips through every spelling
    for orbit, esa_id in sorted(every):
        b = BurstId(orbit, esa_id, "IW2")
        for spelling in (b.canonical, b.asf, b.opera, b.jpl, f"{esa_id} IW2"):
            assert parse_burst_id(spelling) == b


def test_orbit_boundary_in_the_burst_database() -> None:
    # the beam cycle of 32219 starts 0.2 s before the node of orbit 16 and is orbit 15 in the
    # burst database, all subswaths; its IW2 middle lies after the node.
    start = bursts.T_PRE + (32219 - 1) * bursts.T_BEAM
    node16 = 15 * bursts.T_ORB
    assert 0 < node16 - start < 0.3
    assert relative_orbit_for(32219) == 15
    assert relative_orbit_for(32220) == 16


def test_forward_definition_reproduces_annotation_burst_ids(test_data: pathlib.Path) -> None:
    checked = with_id = 0
    computed: dict[str, set[str]] = {}
    offsets: list[float] = []
    for name, ann, manifest in _annotations(test_data):
        root = ET.fromstring(ann)
        swath = root.findtext("adsHeader/swath", "")
        orbit = _start_orbit(manifest)
        for b in root.iter("burst"):
            since_anx = _sensing_since_anx(b)
            got = esa_burst_id_from_time(since_anx, orbit, swath)
            assert got.relative_orbit == orbit  # none of these products crosses a node
            if swath == "IW1":  # how far real beam cycles start from ESA's nominal grid
                start = (orbit - 1) * bursts.T_ORB + since_anx
                offsets.append(start - (bursts.T_PRE + (got.esa_burst_id - 1) * bursts.T_BEAM))
            checked += 1
            text = b.findtext("burstId")
            if text:
                with_id += 1
                assert got.esa_burst_id == int(text), (name, text, got)
            computed.setdefault(name[:14], set()).add(got.jpl)
    assert checked == 186 and with_id == 156
    # real IW1 bursts start between 30 ms before and 13 ms after the nominal beam-cycle start:
    # inside the +-50 ms window where relative_orbit_candidates() accepts either orbit at a node
    assert len(offsets) == 82
    assert -0.035 < min(offsets) < -0.025 and 0.010 < max(offsets) < 0.015
    assert max(abs(o) for o in offsets) < bursts.BOUNDARY_TOLERANCE
    # SAFEs without burstId elements: the ids their data sources name
    assert computed["s1b-iw3-slc-vv"] == {"t174_372326_iw3"}  # hyp3-isce2 single bursts
    assert {f"t168_{k}_iw1" for k in range(359498, 359507)} == computed["s1b-iw1-slc-vv"]


def test_every_id_has_its_orbit_and_few_are_ambiguous() -> None:
    ids = range(1, bursts.BURSTS_PER_CYCLE + 1)
    orbits = [relative_orbit_for(k) for k in ids]
    assert orbits[0] == 1 and orbits[-1] == 175
    assert all(b - a in (0, 1) for a, b in zip(orbits, orbits[1:], strict=False))
    counts = [orbits.count(o) for o in (1, 88, 175)]
    assert all(2147 <= c <= 2149 for c in counts)  # T_orb / T_beam = 2147.9 bursts per orbit
    ambiguous = [k for k in _boundary_ids() if len(relative_orbit_candidates(k)) == 2]
    assert ambiguous == [34367, 64438, 94509, 124580, 242716, 272787, 302858, 332929]
    # both orbits are accepted there, the nominal one is inferred
    assert relative_orbit_for(302858) == 142
    assert parse_burst_id("T141_302858_IW1").relative_orbit == 141
    assert parse_burst_id("302858 IW1").relative_orbit == 142


def _boundary_ids() -> list[int]:
    """The beam cycle nearest to each ascending node."""
    return sorted(
        1 + round((r * bursts.T_ORB - bursts.T_PRE) / bursts.T_BEAM) for r in range(1, 175)
    )


def test_out_of_range_ids() -> None:
    with pytest.raises(ValueError, match="from 1 to 375887"):
        parse_burst_id("375888 IW1")
    with pytest.raises(ValueError, match="from 1 to 375887"):
        parse_burst_id("0 IW1")
    with pytest.raises(ValueError, match="out of range 1..175"):
        parse_burst_id("T176_249435_IW2")


# --- spellings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "subswath"),
    [
        ("249435 IW2", None),
        ("249435_IW2", None),
        ("249435-iw2", None),
        ("  249435   IW2 ", None),
        ("249435", "IW2"),
        ("249435", 2),
        (249435, "iw2"),
        ("117_249435_IW2", None),
        ("T117-249435-IW2", None),
        ("t117_249435_iw2", None),
        ("T117_249435_IW2", None),
        ("T117_249435_IW2", "IW2"),
        (b"t117_249435_iw2", None),
    ],
)
def test_spellings_of_one_burst(text: object, subswath: object) -> None:
    b = parse_burst_id(text, subswath)
    assert (b.relative_orbit, b.esa_burst_id, b.subswath) == (117, 249435, "IW2")
    assert b.canonical == "T117_249435_IW2" == str(b)
    assert b.asf == "117_249435_IW2"
    assert b.opera == "T117-249435-IW2"
    assert b.jpl == "t117_249435_iw2"
    assert parse_burst_id(b) is b


def test_design_examples() -> None:
    assert parse_burst_id("151230 IW3").canonical == "T071_151230_IW3"
    assert parse_burst_id("071_151230_IW3") == parse_burst_id("T071-151230-IW3")
    assert parse_burst_id("t071_151230_iw3").asf == "071_151230_IW3"


def test_contradicting_orbit_names_the_expected_orbit() -> None:
    with pytest.raises(
        ValueError, match=r"relative orbit 118 contradicts.*lies on relative orbit 117"
    ):
        parse_burst_id("T118_249435_IW2")
    with pytest.raises(ValueError, match="lies on relative orbit 117"):
        parse_burst_id("118_249435_IW2")
    with pytest.raises(ValueError, match="contradicts"):
        BurstId(1, 249435, "IW2")


def test_unknown_text_lists_accepted_spellings() -> None:
    for bad in ["foo", "T117_249435_IW4", "IW2", "", "T117_249435", "1234567 IW1"]:
        with pytest.raises(ValueError, match="accepted spellings") as info:
            parse_burst_id(bad)
        assert "T117-249435-IW2" in str(info.value)
    with pytest.raises(ValueError, match="without a subswath"):
        parse_burst_id("249435")
    with pytest.raises(ValueError, match="EW bursts are not supported"):
        parse_burst_id("249435", "EW1")
    with pytest.raises(ValueError, match="names subswath IW2 but subswath='IW3'"):
        parse_burst_id("T117_249435_IW2", "IW3")
    with pytest.raises(ValueError, match="accepted spellings"):
        parse_burst_id(None)


def test_burst_ids_sort_and_hash() -> None:
    ids = {parse_burst_id(s) for s in ["249436 IW1", "249435 IW3", "T117_249435_IW1", "249435_IW1"]}
    assert [b.canonical for b in sorted(ids)] == [
        "T117_249435_IW1",
        "T117_249435_IW3",
        "T117_249436_IW1",
    ]


def test_find_burst_id_in_names() -> None:
    assert find_burst_id("S1A_IW_SLC_20240809_T117_249435_IW2") == parse_burst_id("249435 IW2")
    name = "OPERA_L2_CSLC-S1_T087-185683-IW2_20221228T161651Z_20240504T181714Z_S1A_VV_v1.1.h5"
    assert find_burst_id(name) == parse_burst_id("T087_185683_IW2")
    assert find_burst_id("S1_372326_IW3_20180815T151558_VV_6BD3-BURST") == parse_burst_id(
        "174_372326_IW3"
    )
    assert find_burst_id("S1A_IW_SLC__1SDV_20220828T042306_20220828T042335_044748_0557C6") is None


# --- item / record properties ----------------------------------------------------------------------


def test_properties_of_the_demo_layout() -> None:
    props = {
        "sat:relative_orbit": 117,
        "s1:burst_id": 249435,
        "s1:subswath": "IW2",
        "s1:asf_burst_id": "117_249435_IW2",
        "s1:opera_burst_id": "T117-249435-IW2",
        "pairscope:burst_id": "T117_249435_IW2",
    }
    expected = parse_burst_id("T117_249435_IW2")
    assert burst_id_from_properties(props) == expected
    for key in ["pairscope:burst_id", "s1:opera_burst_id", "s1:asf_burst_id"]:
        assert burst_id_from_properties({key: props[key]}) == expected
    assert burst_id_from_properties({"s1:burst_id": 249435, "s1:subswath": "IW2"}) == expected
    assert burst_id_from_properties({"s1:burst_id": "249435", "s1:subswath": "iw2"}) == expected


def test_properties_contradictions_are_reported() -> None:
    with pytest.raises(ValueError, match=r"sat:relative_orbit=118 contradicts.*orbit 117"):
        burst_id_from_properties(
            {"s1:burst_id": 249435, "s1:subswath": "IW2", "sat:relative_orbit": 118}
        )
    with pytest.raises(ValueError, match="two different bursts"):
        burst_id_from_properties(
            {"pairscope:burst_id": "T117_249435_IW2", "s1:asf_burst_id": "117_249436_IW2"}
        )
    with pytest.raises(ValueError, match=r"property s1:opera_burst_id='T999"):
        burst_id_from_properties({"s1:opera_burst_id": "T999-249435-IW2"})


def test_properties_without_a_burst() -> None:
    assert burst_id_from_properties({}) is None
    assert burst_id_from_properties({"sat:relative_orbit": 117, "s1:burst_id": None}) is None
    # an ESA id without its subswath does not name a burst
    assert burst_id_from_properties({"s1:burst_id": 249435}) is None


def test_properties_of_real_stac_items_without_bursts(test_data: pathlib.Path) -> None:
    import json

    paths = sorted((test_data / "stac").glob("**/*.json"))
    items = [json.loads(p.read_text()) for p in paths]
    items = [i for i in items if isinstance(i, dict) and i.get("type") == "Feature"]
    assert len(items) >= 6
    for item in items:  # frame products (SLC/GRD/RTC) name no single burst
        assert burst_id_from_properties(item["properties"]) is None


def test_properties_of_real_asf_records(asf_docs: dict[str, Any]) -> None:
    doc = asf_docs["SLC_BURST.yml"]
    assert burst_id_from_properties(doc["properties"]) == parse_burst_id("T174_372326_IW3")
    stack = asf_docs["SLC_BURST_stack.yml"]
    found = {burst_id_from_properties(rec["properties"]) for rec in stack}
    assert len(stack) == 166
    assert found == {parse_burst_id("174_372326_IW3")}
    # relativeBurstID + burst.subswath + pathNumber, without fullBurstID
    rec = dict(doc["properties"])
    rec["burst"] = {k: v for k, v in rec["burst"].items() if k != "fullBurstID"}
    assert burst_id_from_properties(rec) == parse_burst_id("T174_372326_IW3")
    rec["pathNumber"] = 173
    with pytest.raises(ValueError, match="pathNumber=173 contradicts"):
        burst_id_from_properties(rec)


def test_properties_of_real_opera_records(asf_docs: dict[str, Any]) -> None:
    records = asf_docs["OPERA_Products.yml"]
    got = []
    for rec in records:
        got.append(burst_id_from_properties(rec["properties"]).canonical)  # type: ignore[union-attr]
        # the CMR record carries the id in AdditionalAttributes, with PATH_NUMBER
        assert burst_id_from_properties(rec["umm"]) == burst_id_from_properties(rec["properties"])
    assert got == ["T131_279916_IW1", "T160_342208_IW3", "T161_344054_IW2", "T094_200143_IW2"]


def test_properties_of_the_real_opera_cslc(test_data: pathlib.Path) -> None:
    (h5path,) = (test_data / "opera").glob("*.h5")
    with h5py.File(h5path, "r") as h5:
        ident = {k: v[()] for k, v in h5["identification"].items() if v.shape == ()}
    assert isinstance(ident["burst_id"], bytes)  # b't087_185683_iw2'
    assert burst_id_from_properties(ident) == parse_burst_id("T087-185683-IW2")
    assert find_burst_id(h5path.name) == parse_burst_id("T087-185683-IW2")


def test_cdse_odata_burst_fields() -> None:
    record = {"BurstId": 249435, "SwathIdentifier": "IW2", "RelativeOrbitNumber": 117}
    assert burst_id_from_properties(record) == parse_burst_id("T117_249435_IW2")
    record["RelativeOrbitNumber"] = 116
    with pytest.raises(ValueError, match="contradicts"):
        burst_id_from_properties(record)


# --- footprints --------------------------------------------------------------------------------


def test_footprints_from_the_burst_map(test_data: pathlib.Path) -> None:
    fps = burst_footprints(test_data / "bursts" / "s1_bursts_glacierSouthTyrol.geojson")
    assert len(fps) == 25
    by_id = {f.burst.canonical: f for f in fps}
    fp = by_id["T117_249435_IW2"]
    assert fp.geometry["type"] == "MultiPolygon"
    ring = fp.geometry["coordinates"][0][0]
    assert all(len(pt) == 2 for pt in ring) and ring[0] == ring[-1]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assert 9 < min(lons) < max(lons) < 13 and 45 < min(lats) < max(lats) < 48  # South Tyrol


def test_footprints_from_the_burst_database(test_data: pathlib.Path) -> None:
    fps = burst_footprints(test_data / "bursts" / "esa_burst_db_sample.csv")
    assert len(fps) == 195
    assert {f.burst.subswath for f in fps} == {"IW1", "IW2", "IW3"}
    first = fps[0]
    assert first.burst == parse_burst_id("t002_002835_iw1")
    ring = first.geometry["coordinates"][0][0]
    assert ring[0] == [157.165548, 64.654199] and ring[0] == ring[-1] and len(ring) == 7


def test_footprint_errors(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        'burst_id_jpl,relative_orbit_number,geometry\nt003_002835_iw1,3,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n'
    )
    with pytest.raises(ValueError, match=r"bad.csv, line 2: .*contradicts"):
        burst_footprints(bad)
    with pytest.raises(FileNotFoundError):
        burst_footprints(tmp_path / "missing.geojson")
    assert bursts.wkt_to_geojson("POLYGON ((0 0, 1 0, 1 1, 0 0))") == {
        "type": "Polygon",
        "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]],
    }


def test_constants() -> None:
    assert bursts.BURSTS_PER_CYCLE == 375887
    assert math.isclose(bursts.T_ORB, 5924.571428571428)
