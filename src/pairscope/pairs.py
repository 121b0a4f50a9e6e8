"""Interferometric pair networks: which (reference, secondary) dates to form.

Rules (combinable with the temporal-baseline limits):

- ``network="all"``: every pair of dates (within ``max_temporal_baseline`` / ``temporal_baselines``);
- ``network="sequential"``: each date with its next ``neighbours`` dates;
- ``network="single-reference"``: every date against ``reference``;
- ``pairs=[...]``: hand-picked pairs, checked against the dates.

The same rules as text, one grammar for the URL, the CLI and the API (:func:`parse_pair_rule`):
``all``, ``max:DAYS``, ``exact:DAYS[,DAYS...]``, ``seq:N``, ``ref:YYYYMMDD`` or explicit pairs
``YYYYMMDD_YYYYMMDD[,YYYYMMDD_YYYYMMDD...]``; ``select_pairs(dates, rule="max:24")`` applies one.

``temporal_baselines=[12]`` keeps exactly those spacings with a tolerance of half a day, the rule of
the openEO coherence notebook. Pairs come back ordered by reference then secondary date, the
reference always being the earlier date.

Building and pruning a network (MintPy's ``modify_network`` options, as pure functions):

- :class:`NetworkLimits`: thresholds (maximum temporal and perpendicular baseline), excluded dates,
  a seasonal filter (months to keep) and single pairs added or dropped by hand;
- :func:`prune_by_coherence`: drop pairs under a minimum mean coherence while keeping the network
  connected: the pairs of a maximum-coherence spanning tree stay (MintPy's ``keepMinSpanTree``:
  its minimum spanning tree on weights 1 / coherence);
- :func:`connected_components`: the groups of dates the pairs link; more than one means the
  network is disconnected (an SBAS inversion cannot tie the groups together);
- :func:`make_network` chains them: rule on the kept dates -> limits -> pruning -> connectivity.

Perpendicular baselines follow the stack convention of ``pipeline.date_baselines``: ``B(date)``
against the stack's first date, and a pair's baseline ``B(secondary) - B(reference)``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pairscope.errors import InputError, PairRuleError

__all__ = [
    "NETWORKS",
    "Network",
    "NetworkLimits",
    "Pair",
    "PairRule",
    "Pruning",
    "apply_limits",
    "as_date",
    "connected_components",
    "format_day",
    "format_pair",
    "keep_months",
    "make_network",
    "pair_perpendicular_baseline",
    "parse_pair_rule",
    "parse_pairs",
    "prune_by_coherence",
    "select_pairs",
    "spanning_pairs",
    "with_perpendicular_baselines",
]

NETWORKS = ("all", "sequential", "single-reference")
_DAY = np.timedelta64(86_400_000_000_000, "ns")


def as_date(value: Any) -> np.datetime64:
    """A date-like value (str, datetime, numpy or pandas) as ``numpy.datetime64[ns]``."""
    if isinstance(value, np.datetime64):
        converted: np.datetime64 = value.astype("datetime64[ns]")
        return converted
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 8 and text.isdigit():
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        try:
            return np.datetime64(text.rstrip("Z"), "ns")
        except ValueError:
            raise InputError(
                f"cannot read {value!r} as a date; use YYYY-MM-DD or YYYYMMDD"
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    if isinstance(value, _dt.date):
        return np.datetime64(value.isoformat(), "ns")
    if hasattr(value, "to_datetime64"):
        return np.datetime64(value.to_datetime64(), "ns")
    raise TypeError(f"cannot read {value!r} ({type(value).__name__}) as a date")


@dataclasses.dataclass(frozen=True, order=True)
class Pair:
    """One interferometric pair; ``temporal_baseline`` in days, ``perpendicular_baseline`` in m."""

    reference: np.datetime64
    secondary: np.datetime64
    temporal_baseline: float
    perpendicular_baseline: float | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def make(cls, reference: Any, secondary: Any) -> Pair:
        ref, sec = as_date(reference), as_date(secondary)
        return cls(ref, sec, float((sec - ref) / _DAY))

    @property
    def label(self) -> str:
        """``YYYYMMDD_YYYYMMDD``, the spelling used in URLs and file names."""
        return format_pair(self)

    def with_perpendicular_baseline(self, metres: float) -> Pair:
        return dataclasses.replace(self, perpendicular_baseline=float(metres))


def format_day(date: Any) -> str:
    """``YYYYMMDD``: the spelling of a date in URLs, file names, cache keys and pair rules."""
    return str(as_date(date).astype("datetime64[D]")).replace("-", "")


def format_pair(pair: Pair) -> str:
    return f"{format_day(pair.reference)}_{format_day(pair.secondary)}"


def parse_pairs(text: str) -> list[Pair]:
    """Read ``YYYYMMDD_YYYYMMDD,YYYYMMDD_YYYYMMDD`` (the URL spelling) into pairs."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.replace("-", "_").split("_") if "_" in part else part.split("-")
        if len(bits) != 2:
            raise PairRuleError(
                f"cannot read pair {part!r}: write it as YYYYMMDD_YYYYMMDD (reference_secondary)"
            )
        try:
            a, b = as_date(bits[0]), as_date(bits[1])
        except (ValueError, TypeError) as err:
            raise PairRuleError(f"cannot read pair {part!r}: {err}") from None
        if a == b:
            raise PairRuleError(f"pair {part!r} uses the same date twice: pick two dates")
        out.append(Pair.make(min(a, b), max(a, b)))
    return list(dict.fromkeys(out))


RULE_HELP = (
    'use "all", "max:DAYS", "exact:DAYS[,DAYS...]", "seq:N", "ref:YYYYMMDD" or explicit pairs '
    '"YYYYMMDD_YYYYMMDD,YYYYMMDD_YYYYMMDD"'
)


@dataclasses.dataclass(frozen=True)
class PairRule:
    """A pair rule of the one grammar: ``kind`` is ``all``, ``max``, ``exact``, ``seq``, ``ref`` or
    ``pairs``; ``str(rule)`` is its canonical spelling (what the URL and the CLI show)."""

    kind: str
    days: tuple[float, ...] = ()
    neighbours: int = 0
    reference: np.datetime64 | None = None
    pairs: tuple[Pair, ...] = ()

    def __str__(self) -> str:
        def num(v: float) -> str:
            return f"{v:g}"

        if self.kind == "all":
            return "all"
        if self.kind == "max":
            return f"max:{num(self.days[0])}"
        if self.kind == "exact":
            return "exact:" + ",".join(num(d) for d in self.days)
        if self.kind == "seq":
            return f"seq:{self.neighbours}"
        if self.kind == "ref":
            return f"ref:{format_day(self.reference)}"
        return ",".join(p.label for p in self.pairs)

    def select_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`select_pairs` for this rule."""
        if self.kind == "max":
            return {"network": "all", "max_temporal_baseline": self.days[0]}
        if self.kind == "exact":
            return {"network": "all", "temporal_baselines": list(self.days)}
        if self.kind == "seq":
            return {"network": "sequential", "neighbours": self.neighbours}
        if self.kind == "ref":
            return {"network": "single-reference", "reference": self.reference}
        if self.kind == "pairs":
            return {"pairs": list(self.pairs)}
        return {"network": "all"}


def parse_pair_rule(rule: str | PairRule) -> PairRule:
    """Read a pair rule (``all``, ``max:24``, ``exact:12,24``, ``seq:2``, ``ref:20250605``,
    ``20250605_20250617,...``); raises :class:`pairscope.errors.PairRuleError` saying how to write
    it. ``str(parse_pair_rule(text))`` gives the canonical spelling back."""
    if isinstance(rule, PairRule):
        return rule
    text = str(rule).strip()
    kind, _, value = text.partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    try:
        if text.lower() == "all":
            return PairRule("all")
        if kind == "max" and value:
            days = float(value)
            if not days >= 0:
                raise InputError("the maximum must be >= 0 days")
            return PairRule("max", days=(days,))
        if kind == "exact" and value:
            spacing = tuple(float(v) for v in value.split(",") if v.strip())
            if not spacing or any(not d > 0 for d in spacing):
                raise InputError("temporal baselines must be > 0 days")
            return PairRule("exact", days=spacing)
        if kind == "seq" and value:
            n = int(value)
            if n < 1:
                raise InputError("N must be >= 1")
            return PairRule("seq", neighbours=n)
        if kind == "ref" and value:
            return PairRule("ref", reference=as_date(value))
        if "_" in text:
            return PairRule("pairs", pairs=tuple(parse_pairs(text)))
    except PairRuleError as err:
        raise PairRuleError(f"cannot read pair rule {text!r}: {err}; {RULE_HELP}") from None
    except (ValueError, TypeError) as err:
        raise PairRuleError(f"cannot read pair rule {text!r} ({err}); {RULE_HELP}") from None
    raise PairRuleError(f"unknown pair rule {text!r}; {RULE_HELP}")


def _unique_sorted(dates: Iterable[Any]) -> list[np.datetime64]:
    return sorted({as_date(d) for d in dates})


def select_pairs(
    dates: Iterable[Any],
    *,
    temporal_baselines: Sequence[float] | None = None,
    max_temporal_baseline: float | None = None,
    network: str = "all",
    neighbours: int | None = None,
    reference: Any = None,
    pairs: Iterable[Any] | None = None,
    rule: str | PairRule | None = None,
) -> list[Pair]:
    """Form pairs from acquisition dates by a network rule and temporal-baseline limits, or by a
    ``rule`` of the text grammar (:func:`parse_pair_rule`), which replaces the other keywords."""
    if rule is not None:
        return select_pairs(dates, **parse_pair_rule(rule).select_kwargs())
    days = _unique_sorted(dates)
    if len(days) < 2:
        raise InputError(f"need at least two distinct dates to form a pair, got {len(days)}")
    if network not in NETWORKS:
        raise InputError(f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}")

    if pairs is not None:
        candidates = []
        known = set(days)
        for p in pairs:
            if isinstance(p, Pair):
                ref, sec = p.reference, p.secondary
            else:
                ref, sec = (as_date(x) for x in p)
            missing = [str(d)[:10] for d in (ref, sec) if d not in known]
            if missing:
                raise InputError(
                    f"pair {str(ref)[:10]} / {str(sec)[:10]}: date(s) {', '.join(missing)} "
                    "not among the acquisitions"
                )
            if ref == sec:
                raise InputError(f"pair {str(ref)[:10]} / {str(sec)[:10]} uses one date twice")
            candidates.append(Pair.make(min(ref, sec), max(ref, sec)))
    elif network == "sequential":
        n = 1 if neighbours is None else int(neighbours)
        if n < 1:
            raise InputError(f"neighbours must be >= 1 for a sequential network, got {n}")
        candidates = [
            Pair.make(days[i], days[j])
            for i in range(len(days))
            for j in range(i + 1, min(i + 1 + n, len(days)))
        ]
    elif network == "single-reference":
        if reference is None:
            raise InputError("a single-reference network needs reference=<date>")
        ref = as_date(reference)
        if ref not in days:
            have = ", ".join(str(d)[:10] for d in days)
            raise InputError(f"reference {str(ref)[:10]} is not an acquisition date ({have})")
        candidates = [Pair.make(min(ref, d), max(ref, d)) for d in days if d != ref]
    else:
        candidates = [
            Pair.make(days[i], days[j]) for i in range(len(days)) for j in range(i + 1, len(days))
        ]

    def keep(p: Pair) -> bool:
        dt = p.temporal_baseline
        if max_temporal_baseline is not None and dt > float(max_temporal_baseline) + 0.5:
            return False
        if temporal_baselines is not None:
            return any(abs(dt - float(t)) <= 0.5 for t in temporal_baselines)
        return True

    return sorted({p for p in candidates if keep(p)})


# -- network building and pruning ---------------------------------------------------------------
Baselines = Mapping[Any, float]


def _day_map(baselines: Baselines | None) -> dict[str, float]:
    """``{YYYYMMDD: metres}`` from a mapping keyed by any date spelling."""
    if baselines is None:
        return {}
    return {format_day(d): float(b) for d, b in baselines.items()}


def pair_perpendicular_baseline(pair: Pair, baselines: Baselines) -> float | None:
    """``B(secondary) - B(reference)`` from each date's baseline against the stack's first date
    (the convention of ``pipeline.date_baselines``); None when a date has no baseline."""
    table = _day_map(baselines)
    ref, sec = table.get(format_day(pair.reference)), table.get(format_day(pair.secondary))
    if ref is None or sec is None or not (math.isfinite(ref) and math.isfinite(sec)):
        return None
    return sec - ref


def with_perpendicular_baselines(pairs: Iterable[Pair], baselines: Baselines | None) -> list[Pair]:
    """``pairs`` with ``perpendicular_baseline`` set from per-date baselines (unchanged without)."""
    table = _day_map(baselines)
    out = []
    for p in pairs:
        b = pair_perpendicular_baseline(p, table) if table else None
        out.append(p.with_perpendicular_baseline(b) if b is not None else p)
    return out


def keep_months(dates: Iterable[Any], months: Iterable[int]) -> list[np.datetime64]:
    """The dates whose calendar month (1-12) is in ``months``; every date when ``months`` is empty
    (the seasonal filter: e.g. ``range(5, 11)`` keeps May to October, leaving out snow)."""
    wanted = {int(m) for m in months}
    bad = sorted(m for m in wanted if not 1 <= m <= 12)
    if bad:
        raise InputError(f"months are 1 (January) to 12 (December), got {bad}")
    days = _unique_sorted(dates)
    if not wanted:
        return days
    return [d for d in days if _month(d) in wanted]


def _month(date: np.datetime64) -> int:
    return int(str(date.astype("datetime64[M]"))[5:7])


def _as_pairs(items: Iterable[Any]) -> tuple[Pair, ...]:
    out = []
    for p in items:
        if isinstance(p, Pair):
            out.append(Pair.make(p.reference, p.secondary))
        elif isinstance(p, str):
            out.extend(parse_pairs(p))
        else:
            a, b = (as_date(x) for x in p)
            out.append(Pair.make(min(a, b), max(a, b)))
    return tuple(dict.fromkeys(out))


@dataclasses.dataclass(frozen=True)
class NetworkLimits:
    """Thresholds and hand edits applied to the pairs a rule forms.

    - ``max_temporal_baseline`` (days) and ``max_perpendicular_baseline`` (m, on ``|B_perp|``):
      pairs beyond either leave the network (None: no limit; a perpendicular limit needs
      baselines);
    - ``exclude``: dates taken out (with every pair that uses them);
    - ``months``: the seasonal filter, calendar months (1-12) whose dates are kept; empty: all;
    - ``add`` / ``drop``: single pairs put in or taken out by hand. An added pair stays whatever
      the thresholds say (it was asked for), but not when one of its dates is excluded; a pair in
      both is dropped.
    """

    max_temporal_baseline: float | None = None
    max_perpendicular_baseline: float | None = None
    exclude: tuple[np.datetime64, ...] = ()
    months: tuple[int, ...] = ()
    add: tuple[Pair, ...] = ()
    drop: tuple[Pair, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_temporal_baseline", "max_perpendicular_baseline"):
            value = getattr(self, name)
            if value is not None:
                v = float(value)
                if not v >= 0:
                    raise InputError(f"{name.replace('_', ' ')} must be >= 0, got {value!r}")
                object.__setattr__(self, name, v)
        object.__setattr__(self, "exclude", tuple(_unique_sorted(self.exclude)))
        months = tuple(sorted({int(m) for m in self.months}))
        keep_months([], months)  # checks the range
        object.__setattr__(self, "months", months)
        object.__setattr__(self, "add", _as_pairs(self.add))
        object.__setattr__(self, "drop", _as_pairs(self.drop))

    def kept_dates(self, dates: Iterable[Any]) -> list[np.datetime64]:
        """``dates`` without the excluded ones and those outside the kept months."""
        out = set(self.exclude)
        return [d for d in keep_months(dates, self.months) if d not in out]


def apply_limits(
    pairs: Iterable[Pair],
    limits: NetworkLimits,
    *,
    dates: Iterable[Any] | None = None,
    baselines: Baselines | None = None,
) -> list[Pair]:
    """The pairs that pass ``limits`` (see :class:`NetworkLimits`), sorted, with perpendicular
    baselines set when ``baselines`` (each date's, against the stack's first date) are given.

    ``dates``: the acquisitions the network may use (default: those of ``pairs`` and of the added
    pairs); excluded dates and months are taken out of them first."""
    given = list(pairs)
    if dates is None:
        dates = [d for p in (*given, *limits.add) for d in (p.reference, p.secondary)]
    kept = set(limits.kept_dates(dates))
    table = _day_map(baselines)
    if limits.max_perpendicular_baseline is not None and not table:
        raise InputError(
            "a maximum perpendicular baseline needs each date's perpendicular baseline (orbits)"
        )
    dropped = set(limits.drop)

    def inside(p: Pair) -> bool:
        return p.reference in kept and p.secondary in kept

    def passes(p: Pair) -> bool:
        if limits.max_temporal_baseline is not None and (
            p.temporal_baseline > limits.max_temporal_baseline + 0.5
        ):
            return False
        if limits.max_perpendicular_baseline is not None:
            b = pair_perpendicular_baseline(p, table)
            if b is None or abs(b) > limits.max_perpendicular_baseline:
                return False
        return True

    out = {p for p in given if inside(p) and passes(p) and p not in dropped}
    out |= {p for p in limits.add if inside(p) and p not in dropped}
    return with_perpendicular_baselines(sorted(out), table or None)


class _Groups:
    """Union-find over dates."""

    def __init__(self, dates: Iterable[np.datetime64]) -> None:
        self.parent: dict[np.datetime64, np.datetime64] = {d: d for d in dates}

    def find(self, d: np.datetime64) -> np.datetime64:
        self.parent.setdefault(d, d)
        root = d
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[d] != root:
            self.parent[d], d = root, self.parent[d]
        return root

    def join(self, a: np.datetime64, b: np.datetime64) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def connected_components(
    pairs: Iterable[Pair], dates: Iterable[Any] | None = None
) -> list[tuple[np.datetime64, ...]]:
    """The groups of dates linked by ``pairs``, each sorted, ordered by their first date. A date
    of ``dates`` that no pair uses is a group of its own; one group means a connected network."""
    given = list(pairs)
    groups = _Groups(_unique_sorted(dates) if dates is not None else [])
    for p in given:
        groups.join(p.reference, p.secondary)
    members: dict[np.datetime64, list[np.datetime64]] = {}
    for d in sorted(groups.parent):
        members.setdefault(groups.find(d), []).append(d)
    return sorted((tuple(v) for v in members.values()), key=lambda g: g[0])


def _coherence_of(coherence: Mapping[Any, float], p: Pair) -> float:
    value = coherence.get(p.label, coherence.get(p, math.nan)) if coherence else math.nan
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def spanning_pairs(pairs: Iterable[Pair], coherence: Mapping[Any, float]) -> list[Pair]:
    """A maximum-coherence spanning forest of the network (Kruskal): the pairs MintPy keeps with
    ``keepMinSpanTree`` (its minimum spanning tree on weights 1 / coherence picks the same pairs).
    ``coherence`` maps a pair (or its label) to its mean coherence; pairs without a value go
    first (they are never pruned, so linking through them costs nothing). Ties: by date."""
    order = sorted(
        _as_pairs(pairs),
        key=lambda p: (
            0 if math.isnan(_coherence_of(coherence, p)) else 1,
            -np.nan_to_num(_coherence_of(coherence, p)),
            p,
        ),
    )
    groups = _Groups([])
    return sorted(p for p in order if groups.join(p.reference, p.secondary))


@dataclasses.dataclass(frozen=True)
class Pruning:
    """The outcome of :func:`prune_by_coherence`: ``kept`` (including ``rescued``: under the
    minimum but kept to hold the network together) and ``pruned``."""

    kept: tuple[Pair, ...]
    pruned: tuple[Pair, ...]
    rescued: tuple[Pair, ...]


def prune_by_coherence(
    pairs: Iterable[Pair],
    coherence: Mapping[Any, float],
    min_coherence: float,
    *,
    keep_connected: bool = True,
) -> Pruning:
    """Drop the pairs whose mean coherence is under ``min_coherence``; with ``keep_connected``
    (MintPy's ``keepMinSpanTree``, its default) the pairs of the maximum-coherence spanning tree
    stay even when under it, so pruning never splits the network into more groups than it had.
    Pairs without a coherence value (not computed) are kept."""
    threshold = float(min_coherence)
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"the minimum coherence must be within 0..1, got {min_coherence!r}")
    given = _as_pairs(pairs)
    tree = set(spanning_pairs(given, coherence)) if keep_connected else set()
    kept, pruned, rescued = [], [], []
    for p in sorted(given):
        c = _coherence_of(coherence, p)
        if math.isnan(c) or c >= threshold:
            kept.append(p)
        elif p in tree:
            kept.append(p)
            rescued.append(p)
        else:
            pruned.append(p)
    return Pruning(tuple(kept), tuple(pruned), tuple(rescued))


@dataclasses.dataclass(frozen=True)
class Network:
    """A network built by :func:`make_network`.

    ``dates``: the dates it may use (after exclusions and months); ``left_out``: the given dates
    taken out by ``exclude`` or ``months``; ``candidates``: the rule's pairs after the limits and
    hand edits (what to compute); ``kept`` and ``pruned``: after coherence pruning (``rescued``:
    kept under the minimum to stay connected); ``components``: groups of ``dates`` linked by
    ``kept``."""

    dates: tuple[np.datetime64, ...]
    left_out: tuple[np.datetime64, ...]
    candidates: tuple[Pair, ...]
    kept: tuple[Pair, ...]
    pruned: tuple[Pair, ...] = ()
    rescued: tuple[Pair, ...] = ()
    components: tuple[tuple[np.datetime64, ...], ...] = ()

    @property
    def connected(self) -> bool:
        return len(self.components) <= 1

    @property
    def isolated(self) -> tuple[np.datetime64, ...]:
        """Dates that no kept pair uses."""
        return tuple(g[0] for g in self.components if len(g) == 1 and len(self.dates) > 1)

    def gaps(self) -> str:
        """The groups of a disconnected network in words (empty when connected), e.g.
        ``"20250605-20250617 | 20250623 | 20250629-20250711"``."""
        if self.connected:
            return ""
        return " | ".join(
            format_day(g[0]) if len(g) == 1 else f"{format_day(g[0])}-{format_day(g[-1])}"
            for g in self.components
        )


def make_network(
    dates: Iterable[Any],
    rule: str | PairRule,
    *,
    limits: NetworkLimits | None = None,
    baselines: Baselines | None = None,
    coherence: Mapping[Any, float] | None = None,
    min_coherence: float | None = None,
    keep_connected: bool = True,
) -> Network:
    """Rule -> limits -> coherence pruning -> connectivity, in one call.

    The rule (:func:`parse_pair_rule`) runs on the dates left after ``limits.exclude`` and
    ``limits.months`` (so ``seq:1`` links the dates on either side of an excluded one); hand-picked
    pairs of excluded dates are left out rather than refused. Then :func:`apply_limits`, then,
    when ``min_coherence`` is given, :func:`prune_by_coherence` on ``coherence``.
    """
    limits = limits or NetworkLimits()
    parsed = parse_pair_rule(rule)
    every = _unique_sorted(dates)
    usable = limits.kept_dates(every)
    left_out = tuple(d for d in every if d not in set(usable))
    if parsed.kind == "pairs":
        known, ok = set(every), set(usable)
        unknown = sorted({format_day(d) for p in parsed.pairs for d in (p.reference, p.secondary)
                          if d not in known})  # fmt: skip
        if unknown:
            raise InputError(f"date(s) {', '.join(unknown)} of the pairs are not acquisitions")
        formed = [p for p in parsed.pairs if p.reference in ok and p.secondary in ok]
    elif len(usable) < 2:
        formed = []
    else:
        formed = select_pairs(usable, rule=parsed)
    candidates = apply_limits(formed, limits, dates=usable, baselines=baselines)
    kept: Sequence[Pair] = candidates
    pruned: Sequence[Pair] = ()
    rescued: Sequence[Pair] = ()
    if min_coherence is not None:
        result = prune_by_coherence(
            candidates, coherence or {}, min_coherence, keep_connected=keep_connected
        )
        kept = [p for p in candidates if p in set(result.kept)]  # keeps the baselines set
        pruned, rescued = result.pruned, result.rescued
    components = connected_components(kept, usable)
    return Network(
        dates=tuple(usable),
        left_out=left_out,
        candidates=tuple(candidates),
        kept=tuple(kept),
        pruned=tuple(p for p in candidates if p in set(pruned)),
        rescued=tuple(p for p in candidates if p in set(rescued)),
        components=tuple(components),
    )
