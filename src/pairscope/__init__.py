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

from pairscope._version import __version__
from pairscope.errors import (
    AssetError,
    BurstNotFoundError,
    CatalogAuthError,
    CatalogError,
    CatalogFormatError,
    CatalogHTTPError,
    CatalogTimeoutError,
    CatalogUnreachableError,
    GeometryError,
    GridMismatchError,
    InputError,
    LocationRefusedError,
    PairRuleError,
    PairscopeError,
    RenderError,
    SchemaNotFoundError,
    WindowError,
)

if TYPE_CHECKING:
    from pairscope.coherence import (
        bias_corrected_coherence,
        estimate,
        estimate_amplitude,
        estimate_pairs,
        expected_sample_coherence,
        phase_std,
    )
    from pairscope.compute import parse_window
    from pairscope.geometry import Orbit, geocode, look_geometry, perpendicular_baseline
    from pairscope.io.catalog import list_acquisitions, list_products, open_catalog, search_bursts
    from pairscope.io.export import export_geometry, export_pair, export_pairs, export_png, validate_item
    from pairscope.io.orbits import open_orbit
    from pairscope.io.rasters import open_product, open_slc_stack
    from pairscope.pairs import Pair, PairRule, parse_pair_rule, select_pairs
    from pairscope.pipeline import Recipe, compute_pairs, run_pairs

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
    "estimate_amplitude": "pairscope.coherence",
    "expected_sample_coherence": "pairscope.coherence",
    "bias_corrected_coherence": "pairscope.coherence",
    "phase_std": "pairscope.coherence",
    "parse_window": "pairscope.compute",
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

__all__ = [
    "AssetError",
    "BurstNotFoundError",
    "CatalogAuthError",
    "CatalogError",
    "CatalogFormatError",
    "CatalogHTTPError",
    "CatalogTimeoutError",
    "CatalogUnreachableError",
    "GeometryError",
    "GridMismatchError",
    "InputError",
    "LocationRefusedError",
    "PairRuleError",
    "PairscopeError",
    "RenderError",
    "SchemaNotFoundError",
    "WindowError",
    "__version__",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pairscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
