"""Session fixtures of the simulated demo catalog (``pairscope.sim.demo``).

``demo_catalog`` builds the "small" demo (6 dates of 150 x 600 samples, seed 0) once per test
session into a temporary folder and returns the path of its root ``catalog.json``.
"""

from __future__ import annotations

import pathlib

import pytest


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Path of ``catalog.json`` of a small demo catalog (seed 0), built once per session."""
    from pairscope.sim.demo import build_catalog

    return build_catalog(tmp_path_factory.mktemp("demo") / "small", seed=0, size="small")
