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
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from pairscope.errors import InputError, PairRuleError

__all__ = [
    "NETWORKS",
    "Pair",
    "PairRule",
    "as_date",
    "format_day",
    "format_pair",
    "parse_pair_rule",
    "parse_pairs",
    "select_pairs",
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
