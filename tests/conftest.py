"""Shared test configuration.

Fixture modules live in ``tests/plugins/`` (one per area: demo catalog, pgstac server, browser...)
and are loaded here, so each area owns its fixtures without editing this file.
"""

from __future__ import annotations

import pathlib

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (TESTS / "plugins").glob("*.py") if not p.stem.startswith("_")
)


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The real public test data in ``../shared/data`` (see its SOURCES.md)."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"shared test data not found at {SHARED_DATA}; the repository must sit beside shared/")
    return SHARED_DATA
