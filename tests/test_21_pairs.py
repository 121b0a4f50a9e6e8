"""Pair networks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pairscope.pairs import Pair, as_date, parse_pairs, select_pairs

# The openEO notebook's dates: 2024-08-09 .. 2024-09-02 every 6 days (S1A + S1C... every 12 from one)
DATES = ["2024-08-09", "2024-08-15", "2024-08-21", "2024-08-27", "2024-09-02"]


def labels(pairs):
    return [p.label for p in pairs]


def test_all_pairs_ordered_with_temporal_baselines():
    pairs = select_pairs(reversed(DATES))
    assert len(pairs) == 10
    assert pairs == sorted(pairs)
    assert all(p.reference < p.secondary for p in pairs)
    assert pairs[0].label == "20240809_20240815" and pairs[0].temporal_baseline == 6.0


def test_exact_temporal_baselines_like_the_notebook():
    pairs = select_pairs(DATES, temporal_baselines=[12])
    assert labels(pairs) == ["20240809_20240821", "20240815_20240827", "20240821_20240902"]
    # half a day of tolerance: acquisition times differ by seconds to minutes between dates
    times = ["2024-08-09T05:24:10", "2024-08-21T05:24:55", "2024-08-22T05:24:55"]
    assert labels(select_pairs(times, temporal_baselines=[12])) == ["20240809_20240821"]


def test_max_temporal_baseline_and_sequential():
    assert len(select_pairs(DATES, max_temporal_baseline=12)) == 7
    seq = select_pairs(DATES, network="sequential", neighbours=2)
    assert labels(seq) == [
        "20240809_20240815", "20240809_20240821", "20240815_20240821", "20240815_20240827",
        "20240821_20240827", "20240821_20240902", "20240827_20240902",
    ]
    assert len(select_pairs(DATES, network="sequential")) == 4


def test_single_reference():
    pairs = select_pairs(DATES, network="single-reference", reference="20240821")
    assert labels(pairs) == [
        "20240809_20240821", "20240815_20240821", "20240821_20240827", "20240821_20240902",
    ]
    with pytest.raises(ValueError, match="not an acquisition date"):
        select_pairs(DATES, network="single-reference", reference="2024-08-10")
    with pytest.raises(ValueError, match="needs reference"):
        select_pairs(DATES, network="single-reference")


def test_hand_picked_pairs_are_checked():
    pairs = select_pairs(DATES, pairs=[("2024-09-02", "2024-08-09"), ("20240815", "20240821")])
    assert labels(pairs) == ["20240809_20240902", "20240815_20240821"]
    with pytest.raises(ValueError, match="not among the acquisitions"):
        select_pairs(DATES, pairs=[("2024-08-09", "2024-08-10")])
    with pytest.raises(ValueError, match="one date twice"):
        select_pairs(DATES, pairs=[("2024-08-09", "2024-08-09")])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least two"):
        select_pairs(["2024-08-09"])
    with pytest.raises(ValueError, match="unknown network"):
        select_pairs(DATES, network="star")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        as_date("yesterday")


def test_url_spelling_round_trip_and_date_types():
    pairs = parse_pairs("20240809_20240821, 20240815_20240827")
    assert labels(pairs) == ["20240809_20240821", "20240815_20240827"]
    assert pairs[0].temporal_baseline == 12
    with pytest.raises(ValueError, match="YYYYMMDD_YYYYMMDD"):
        parse_pairs("20240809")
    want = np.datetime64("2024-08-09", "ns")
    assert as_date(dt.date(2024, 8, 9)) == want
    assert as_date(dt.datetime(2024, 8, 9, tzinfo=dt.UTC)) == want
    assert as_date("2024-08-09T00:00:00Z") == want
    p = Pair.make("2024-08-09", "2024-08-21").with_perpendicular_baseline(-42.5)
    assert p.perpendicular_baseline == -42.5 and p == Pair.make("2024-08-09", "2024-08-21")
