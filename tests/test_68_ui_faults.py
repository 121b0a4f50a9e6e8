"""The app under faults, on the real core: one unreadable date fails only its pairs."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from pairscope.ui.app import make_backend
from pairscope.ui.settings import Settings
from pairscope.ui.state import ExplorerState


@pytest.fixture(scope="module")
def broken_catalog(demo_catalog: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, str]:
    """A copy of the demo whose third date's SLC file is cut short (unreadable)."""
    root = tmp_path_factory.mktemp("broken") / "demo"
    shutil.copytree(demo_catalog.parent, root)
    items = sorted(root.glob("pairscope-demo-slc/*_T117_249435_IW2/*.json"))  # the first burst
    victim = json.loads(items[2].read_text())
    href = victim["assets"]["slc"]["href"]
    tif = (items[2].parent / href).resolve()
    tif.write_bytes(tif.read_bytes()[:4096])
    return root / demo_catalog.name, victim["properties"]["datetime"][:10].replace("-", "")


def test_one_unreadable_date_fails_only_its_pairs(broken_catalog: tuple[pathlib.Path, str]) -> None:
    catalog, bad_day = broken_catalog
    settings = Settings(catalog=str(catalog), tiles=None, url_sync=False)
    state = ExplorerState(settings, make_backend(), default_catalog=str(catalog))
    state.connect()
    state.load()
    state.wait(120)
    assert state.burst_dates is not None, state.status
    state.param.update(rule="sequential", rule_value="1", layer="coherence")
    state.compute()
    state.wait(180)
    computed = set(state.results)
    expected = len(state.burst_dates.dates) - 1
    failed = [k for k in computed if bad_day in k]
    assert not failed
    assert len(computed) == expected - 2, (state.status, computed)  # the two pairs of that date
    assert state.status_kind == "warning"
    assert bad_day in state.status, state.status  # the skipped pairs are named
    assert f"{expected - 2} of {expected} pairs computed" in state.status, state.status
