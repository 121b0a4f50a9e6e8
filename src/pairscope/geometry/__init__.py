"""Radar geometry on WGS84: orbits, zero-Doppler, look vectors, incidence, baselines, terrain, geocoding.

Pure numerics (no file or network I/O beyond parsing orbit documents handed in):

- :mod:`pairscope.geometry.orbit`: ``Orbit`` (two or more state vectors; 8-point Lagrange, or
  cubic Hermite below 8 vectors; bounded extrapolation with a stated error), EOF and annotation
  parsing, EOF writing;
- :mod:`pairscope.geometry.look`: zero-Doppler solution, look vectors, incidence, geolocation,
  baselines (of pairs, or of a whole stack at one point) in the ``"isce"`` or ``"vertex"`` sign
  convention, the one point a burst's baselines are evaluated at (``baseline_point``), the
  critical baseline;
- :mod:`pairscope.geometry.terrain`: DEM slopes, local incidence, layover/shadow;
- :mod:`pairscope.geometry.geocoding`: radar grid -> snapped UTM map grid;
- ``_kernels``: the numba kernels behind them.

Everything public is re-exported here (``from pairscope import geometry as g; g.look_geometry``).
"""

from pairscope.geometry.geocoding import geocode
from pairscope.geometry.look import *  # noqa: F403
from pairscope.geometry.look import __all__ as _look_all

#: Look-geometry layers the app, ``pairscope compute`` and exports know, in menu order.
LAYERS = ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up", "incidence")

__all__ = [*_look_all, "LAYERS", "geocode"]
