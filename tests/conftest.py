"""Shared test configuration.

Fixture modules live in ``tests/plugins/`` (one per area: demo catalog, pgstac server, browser...)
and are loaded here, so each area owns its fixtures without editing this file.
"""

from __future__ import annotations

import pathlib

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
TEST_DATA = TESTS / "data"
SCHEMAS = TEST_DATA / "stac" / "schemas"

pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in (TESTS / "plugins").glob("*.py") if not p.stem.startswith("_")
)


@pytest.fixture(scope="session")
def test_data() -> pathlib.Path:
    """The real public test data in ``tests/data`` (see its SOURCES.md)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def schemas() -> pathlib.Path:
    """The offline STAC core and extension schemas (``tests/data/stac/schemas``)."""
    return SCHEMAS
