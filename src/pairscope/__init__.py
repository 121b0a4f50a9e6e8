"""pairscope: interactive Sentinel-1 coherence and differential phase from STAC catalogs.

The public API, importable from here (loaded on first use, so ``import pairscope`` stays light)::

    import pairscope as ps

    cat = ps.open_catalog("demo/catalog.json")
    burst = ps.search_bursts(cat)[0].burst_id
    stack = ps.open_slc_stack(cat, burst, dates=None, polarization="VV")
    pairs = ps.select_pairs(stack["date"].values, rule="seq:1")
    result = ps.compute_pairs(stack.load(), pairs, ps.Recipe(window=(5, 21), geometry="map"))

Layers (imports point down only): ``cli``, ``ui`` -> ``compute``, ``sim``, ``pipeline`` -> ``io`` ->
numerics (``coherence``, ``pairs``, ``bursts``, ``render``, ``qa``) and ``geometry`` -> ``_types``,
``errors``. Every error pairscope raises on purpose derives from :class:`PairscopeError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pairscope import errors
from pairscope._version import __version__
from pairscope.errors import *  # noqa: F403  (the error tree is part of the API)

if TYPE_CHECKING:  # the lazily loaded names, for type checkers and IDEs
    from pairscope.coherence import bias_corrected_coherence as bias_corrected_coherence
    from pairscope.coherence import estimate as estimate
    from pairscope.coherence import estimate_amplitude as estimate_amplitude
    from pairscope.coherence import estimate_pairs as estimate_pairs
    from pairscope.coherence import estimate_pairs_overview as estimate_pairs_overview
    from pairscope.coherence import expected_sample_coherence as expected_sample_coherence
    from pairscope.coherence import parse_window as parse_window
    from pairscope.coherence import phase_std as phase_std
    from pairscope.geometry import Orbit as Orbit
    from pairscope.geometry import geocode as geocode
    from pairscope.geometry import look_geometry as look_geometry
    from pairscope.geometry import perpendicular_baseline as perpendicular_baseline
    from pairscope.io.catalog import list_acquisitions as list_acquisitions
    from pairscope.io.catalog import list_products as list_products
    from pairscope.io.catalog import open_catalog as open_catalog
    from pairscope.io.catalog import search_bursts as search_bursts
    from pairscope.io.export import export_geometry as export_geometry
    from pairscope.io.export import export_pair as export_pair
    from pairscope.io.export import export_pairs as export_pairs
    from pairscope.io.export import export_png as export_png
    from pairscope.io.export import validate_item as validate_item
    from pairscope.io.orbits import open_orbit as open_orbit
    from pairscope.io.rasters import open_product as open_product
    from pairscope.io.rasters import open_slc_stack as open_slc_stack
    from pairscope.pairs import Pair as Pair
    from pairscope.pairs import PairRule as PairRule
    from pairscope.pairs import parse_pair_rule as parse_pair_rule
    from pairscope.pairs import select_pairs as select_pairs
    from pairscope.pipeline import Recipe as Recipe
    from pairscope.pipeline import compute_pairs as compute_pairs
    from pairscope.pipeline import run_pairs as run_pairs

#: public name -> module that defines it
_LAZY = {
    "open_catalog": "pairscope.io.catalog",
    "search_bursts": "pairscope.io.catalog",
    "list_acquisitions": "pairscope.io.catalog",
    "list_products": "pairscope.io.catalog",
    "open_slc_stack": "pairscope.io.rasters",
    "open_product": "pairscope.io.rasters",
    "open_orbit": "pairscope.io.orbits",
    "select_pairs": "pairscope.pairs",
    "parse_pair_rule": "pairscope.pairs",
    "Pair": "pairscope.pairs",
    "PairRule": "pairscope.pairs",
    "estimate": "pairscope.coherence",
    "estimate_pairs": "pairscope.coherence",
    "estimate_pairs_overview": "pairscope.coherence",
    "estimate_amplitude": "pairscope.coherence",
    "expected_sample_coherence": "pairscope.coherence",
    "bias_corrected_coherence": "pairscope.coherence",
    "phase_std": "pairscope.coherence",
    "parse_window": "pairscope.coherence",
    "Orbit": "pairscope.geometry",
    "look_geometry": "pairscope.geometry",
    "perpendicular_baseline": "pairscope.geometry",
    "geocode": "pairscope.geometry",
    "Recipe": "pairscope.pipeline",
    "compute_pairs": "pairscope.pipeline",
    "run_pairs": "pairscope.pipeline",
    "export_pair": "pairscope.io.export",
    "export_pairs": "pairscope.io.export",
    "export_geometry": "pairscope.io.export",
    "export_png": "pairscope.io.export",
    "validate_item": "pairscope.io.export",
}

__all__ = [*errors.__all__, "__version__", *sorted(_LAZY)]  # noqa: PLE0604


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pairscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
