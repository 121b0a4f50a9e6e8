"""The network plot's baselines say what they are, and the critical baseline is shaded (ASF Vertex)."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from pairscope import geometry
from pairscope.ui.app import make_backend
from pairscope.ui.views.network import baseline_label, critical_band

BURST = "T117_249435_IW2"


def test_baselines_before_any_slc_with_their_convention_and_critical_band(
    demo_catalog: pathlib.Path,
) -> None:
    backend = make_backend()
    bd = backend.burst_dates(str(demo_catalog), BURST, "VV")
    assert backend.cache.get(("stack", str(demo_catalog), BURST, "VV")) is None  # no SLC opened
    assert bd.perpendicular_baselines is not None and bd.convention == "vertex"
    assert bd.baseline_point is not None and bd.critical_baseline is not None
    # lambda R B tan(theta) / c for IW2 at the demo's geometry (about 880 km, 39 deg)
    lat, lon, h = bd.baseline_point
    orbit = backend.orbit(str(demo_catalog), BURST, "VV", bd.dates[0])
    geo = geometry.look_geometry(orbit, np.array([lat]), np.array([lon]), np.array([h]))
    theta = math.radians(float(geo["incidence_angle"].values.ravel()[0]))
    r = float(geo["slant_range"].values.ravel()[0])
    expected = geometry.SENTINEL1_WAVELENGTH * r * 48.3e6 * math.tan(theta) / 299_792_458.0
    assert bd.critical_baseline == pytest.approx(expected, rel=0.02)
    assert 5000 < bd.critical_baseline < 8000
    label = baseline_label(bd)
    assert "ASF Vertex sign" in label and "burst centre" in label
    ys = np.asarray(bd.perpendicular_baselines)
    band, ylim = critical_band(bd, ys)
    assert len(band) == 1 and ylim is not None
    # the band does not squeeze the dates: the view is the dates' spread with a margin
    assert ylim[0] < ys.min() and ylim[1] > ys.max() and ylim[1] - ylim[0] < 2 * bd.critical_baseline
