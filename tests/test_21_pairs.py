"""Pair networks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pairscope.errors import InputError
from pairscope.pairs import (
    NetworkLimits,
    Pair,
    apply_limits,
    as_date,
    connected_components,
    keep_months,
    make_network,
    pair_perpendicular_baseline,
    parse_pair_rule,
    parse_pairs,
    prune_by_coherence,
    select_pairs,
    spanning_pairs,
)

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


# -- network building and pruning ----------------------------------------------------------------
# Six dates two months apart over a year, with per-date perpendicular baselines (m) against the
# first date, as pipeline.date_baselines gives them.
NET = ["2024-01-10", "2024-03-10", "2024-05-10", "2024-07-10", "2024-09-10", "2024-11-10"]
B = dict(zip(NET, [0.0, 80.0, -40.0, 150.0, 10.0, -120.0], strict=True))


def brute_components(pairs, dates):
    """Oracle: flood fill over an adjacency list."""
    adj = {as_date(d): set() for d in dates}
    for p in pairs:
        adj[p.reference].add(p.secondary)
        adj[p.secondary].add(p.reference)
    seen, out = set(), []
    for d in sorted(adj):
        if d in seen:
            continue
        stack, group = [d], set()
        while stack:
            x = stack.pop()
            if x not in group:
                group.add(x)
                stack.extend(adj[x] - group)
        seen |= group
        out.append(tuple(sorted(group)))
    return out


def test_perpendicular_baseline_of_a_pair_is_secondary_minus_reference():
    p = Pair.make("2024-03-10", "2024-07-10")
    assert pair_perpendicular_baseline(p, B) == 150.0 - 80.0
    assert pair_perpendicular_baseline(p, {"20240310": 80.0}) is None
    # the stack convention: against the first date, whatever the keys' spelling
    keyed = {as_date(k): v for k, v in B.items()}
    assert pair_perpendicular_baseline(Pair.make("2024-01-10", "2024-05-10"), keyed) == -40.0


def test_thresholds_temporal_and_perpendicular():
    pairs = select_pairs(NET)
    limited = apply_limits(pairs, NetworkLimits(max_temporal_baseline=62), baselines=B)
    assert all(p.temporal_baseline <= 62.5 for p in limited)
    assert len(limited) == 5  # the sequential pairs only (two months apart)
    both = apply_limits(pairs, NetworkLimits(max_perpendicular_baseline=100), baselines=B)
    assert both and all(abs(p.perpendicular_baseline) <= 100 for p in both)
    # exactly those of the full set that pass: nothing else removed
    want = [p for p in pairs if abs(B[str(p.secondary)[:10]] - B[str(p.reference)[:10]]) <= 100]
    assert both == want
    with pytest.raises(InputError, match="perpendicular"):
        apply_limits(pairs, NetworkLimits(max_perpendicular_baseline=100))
    with pytest.raises(InputError, match=">= 0"):
        NetworkLimits(max_temporal_baseline=-1)


def test_exclusions_months_and_hand_edits():
    pairs = select_pairs(NET)
    out = apply_limits(pairs, NetworkLimits(exclude=("20240510",)))
    assert len(out) == 10 and all(as_date("2024-05-10") not in (p.reference, p.secondary) for p in out)
    # seasonal filter: May to October
    assert [str(d)[:10] for d in keep_months(NET, range(5, 11))] == NET[2:5]
    summer = apply_limits(pairs, NetworkLimits(months=(5, 6, 7, 8, 9, 10)))
    assert [p.label for p in summer] == ["20240510_20240710", "20240510_20240910",
                                         "20240710_20240910"]  # fmt: skip
    with pytest.raises(InputError, match="months"):
        keep_months(NET, [13])
    # drop one pair, add one beyond the thresholds (asked for: it stays), excluded dates win
    limits = NetworkLimits(max_temporal_baseline=62, drop=["20240110_20240310"],
                           add=["20240110_20241110", "20240510_20241110"], exclude=["20240510"])  # fmt: skip
    edited = apply_limits(pairs, limits)
    labels_ = [p.label for p in edited]
    assert "20240110_20240310" not in labels_ and "20240110_20241110" in labels_
    assert "20240510_20241110" not in labels_


def test_connected_components_against_flood_fill():
    rng = np.random.default_rng(3)
    days = [np.datetime64("2024-01-01") + np.timedelta64(6 * i, "D") for i in range(12)]
    every = select_pairs(days)
    for _ in range(30):
        chosen = [p for p in every if rng.random() < 0.12]
        assert connected_components(chosen, days) == brute_components(chosen, days)
    assert len(connected_components(select_pairs(days, network="sequential"), days)) == 1


def test_coherence_pruning_keeps_the_network_connected():
    rng = np.random.default_rng(7)
    days = [np.datetime64("2024-01-01") + np.timedelta64(12 * i, "D") for i in range(9)]
    pairs = select_pairs(days, network="sequential", neighbours=3)
    for trial in range(25):
        coh = {p.label: float(rng.uniform(0.05, 0.9)) for p in pairs}
        result = prune_by_coherence(pairs, coh, 0.5)
        # connected before -> connected after, and nothing above the threshold is lost
        assert len(connected_components(result.kept, days)) == 1, trial
        assert all(coh[p.label] < 0.5 for p in result.pruned)
        assert all(p in result.kept for p in pairs if coh[p.label] >= 0.5)
        assert set(result.kept) | set(result.pruned) == set(pairs)
        # rescued = the spanning tree's pairs under the threshold (MintPy keepMinSpanTree)
        tree = spanning_pairs(pairs, coh)
        assert len(tree) == len(days) - 1
        assert set(result.rescued) == {p for p in tree if coh[p.label] < 0.5}
        # the tree maximises the summed coherence: brute force over swaps cannot improve it
        total = sum(coh[p.label] for p in tree)
        for p in pairs:
            if p in tree:
                continue
            for q in tree:
                alt = [x for x in tree if x != q] + [p]
                if len(connected_components(alt, days)) == 1:
                    assert sum(coh[x.label] for x in alt) <= total + 1e-12
        # without keep_connected the plain threshold rule
        plain = prune_by_coherence(pairs, coh, 0.5, keep_connected=False)
        assert set(plain.pruned) == {p for p in pairs if coh[p.label] < 0.5}
    # pairs without a value (not computed) are never pruned
    assert prune_by_coherence(pairs, {}, 0.9).kept == tuple(pairs)
    with pytest.raises(InputError, match="0..1"):
        prune_by_coherence(pairs, {}, 1.5)


def test_make_network_chains_rule_limits_pruning():
    net = make_network(NET, "seq:1", limits=NetworkLimits(exclude=["20240510"]), baselines=B)
    # the sequence is formed on the kept dates: the dates around the excluded one are linked
    assert [p.label for p in net.candidates] == [
        "20240110_20240310", "20240310_20240710", "20240710_20240910", "20240910_20241110"]  # fmt: skip
    assert net.connected and net.left_out == (as_date("2024-05-10"),)
    assert net.candidates[1].perpendicular_baseline == 150.0 - 80.0
    # prune the weakest link of a chain: it is the only link, so it is rescued
    coh = {"20240110_20240310": 0.8, "20240310_20240710": 0.1, "20240710_20240910": 0.7,
           "20240910_20241110": 0.6}  # fmt: skip
    kept = make_network(NET, "seq:1", limits=NetworkLimits(exclude=["20240510"]),
                        coherence=coh, min_coherence=0.5)  # fmt: skip
    assert kept.connected and [p.label for p in kept.rescued] == ["20240310_20240710"]
    cut = make_network(NET, "seq:1", limits=NetworkLimits(exclude=["20240510"]),
                       coherence=coh, min_coherence=0.5, keep_connected=False)  # fmt: skip
    assert not cut.connected and [p.label for p in cut.pruned] == ["20240310_20240710"]
    assert cut.gaps() == "20240110-20240310 | 20240710-20241110"
    # a perpendicular limit that isolates a date: the network says so
    far = make_network(NET, "all", limits=NetworkLimits(max_perpendicular_baseline=60), baselines=B)
    assert not far.connected and as_date("2024-07-10") in far.isolated
    # hand-picked pairs: those of excluded dates are left out, unknown dates refused
    hand = make_network(NET, "20240110_20240510,20240310_20240710",
                        limits=NetworkLimits(exclude=["20240510"]))  # fmt: skip
    assert [p.label for p in hand.candidates] == ["20240310_20240710"]
    with pytest.raises(InputError, match="not acquisitions"):
        make_network(NET, "20240110_20240511")


def test_rule_grammar_round_trip():
    for text in ("all", "max:24", "exact:12,24", "seq:2", "ref:20240809",
                 "20240809_20240821,20240815_20240827"):  # fmt: skip
        assert str(parse_pair_rule(text)) == text
        assert str(parse_pair_rule(str(parse_pair_rule(text)))) == text
    assert str(parse_pair_rule(" MAX:24 ")) == "max:24"
