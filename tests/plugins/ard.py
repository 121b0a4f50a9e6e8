"""Session fixture: the small demo catalog with its CEOS-ARD collections (``pairscope.sim.ard``).

``ard_catalog`` is the shared ``demo_catalog`` when it already holds the GSLC and NRB collections
(the demo build adds them), else a copy of it to which :func:`write_ard_collections` adds them, so
the shared catalog is never modified here.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest


@pytest.fixture(scope="session")
def ard_catalog(demo_catalog: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Path of ``catalog.json`` of the small demo with ``pairscope-demo-gslc`` and ``-nrb``."""
    from pairscope.sim.ard import GSLC_COLLECTION, NRB_COLLECTION, write_ard_collections

    links = json.loads(demo_catalog.read_text(encoding="utf-8")).get("links", [])
    hrefs = " ".join(link.get("href", "") for link in links if link.get("rel") == "child")
    if GSLC_COLLECTION in hrefs and NRB_COLLECTION in hrefs:
        return demo_catalog
    copy = tmp_path_factory.mktemp("ard") / "small"
    shutil.copytree(demo_catalog.parent, copy)
    write_ard_collections(copy)
    return copy / "catalog.json"
