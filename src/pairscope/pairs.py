"""Interferometric pair networks: which (reference, secondary) dates to form.

Rules (combinable with the temporal-baseline limits):

- ``network="all"``: every pair of dates (within ``max_temporal_baseline`` / ``temporal_baselines``);
- ``network="sequential"``: each date with its next ``neighbours`` dates;
- ``network="single-reference"``: every date against ``reference``;
- ``pairs=[...]``: hand-picked pairs, checked against the dates.

``temporal_baselines=[12]`` keeps exactly those spacings with a tolerance of half a day, the rule of
the openEO coherence notebook. Pairs come back ordered by reference then secondary date, the
reference always being the earlier date.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["Pair", "select_pairs", "as_date", "parse_pairs", "format_pair", "NETWORKS"]

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
            raise ValueError(
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


def format_pair(pair: Pair) -> str:
    def day(d: np.datetime64) -> str:
        return str(d.astype("datetime64[D]")).replace("-", "")

    return f"{day(pair.reference)}_{day(pair.secondary)}"


def parse_pairs(text: str) -> list[Pair]:
    """Read ``YYYYMMDD_YYYYMMDD,YYYYMMDD_YYYYMMDD`` (the URL spelling) into pairs."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.replace("-", "_").split("_") if "_" in part else part.split("-")
        if len(bits) != 2:
            raise ValueError(
                f"cannot read pair {part!r}: write it as YYYYMMDD_YYYYMMDD (reference_secondary)"
            )
        out.append(Pair.make(bits[0], bits[1]))
    return out


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
) -> list[Pair]:
    """Form pairs from acquisition dates by a network rule and temporal-baseline limits."""
    days = _unique_sorted(dates)
    if len(days) < 2:
        raise ValueError(f"need at least two distinct dates to form a pair, got {len(days)}")
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}")

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
                raise ValueError(
                    f"pair {str(ref)[:10]} / {str(sec)[:10]}: date(s) {', '.join(missing)} "
                    "not among the acquisitions"
                )
            if ref == sec:
                raise ValueError(f"pair {str(ref)[:10]} / {str(sec)[:10]} uses one date twice")
            candidates.append(Pair.make(min(ref, sec), max(ref, sec)))
    elif network == "sequential":
        n = 1 if neighbours is None else int(neighbours)
        if n < 1:
            raise ValueError(f"neighbours must be >= 1 for a sequential network, got {n}")
        candidates = [
            Pair.make(days[i], days[j])
            for i in range(len(days))
            for j in range(i + 1, min(i + 1 + n, len(days)))
        ]
    elif network == "single-reference":
        if reference is None:
            raise ValueError("a single-reference network needs reference=<date>")
        ref = as_date(reference)
        if ref not in days:
            have = ", ".join(str(d)[:10] for d in days)
            raise ValueError(f"reference {str(ref)[:10]} is not an acquisition date ({have})")
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
