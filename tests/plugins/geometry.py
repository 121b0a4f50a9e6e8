"""Fixtures for geometry tests: real Sentinel-1 annotation files and their geolocation grids."""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass

import numpy as np
import pytest


@dataclass(frozen=True)
class GeolocationGrid:
    """The ``geolocationGrid`` of a Sentinel-1 annotation XML, as flat arrays."""

    azimuth_time: np.ndarray
    slant_range_time: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    height: np.ndarray
    incidence_angle: np.ndarray
    elevation_angle: np.ndarray
    line: np.ndarray
    pixel: np.ndarray


def read_geolocation_grid(xml: bytes | pathlib.Path) -> GeolocationGrid:
    root = ET.fromstring(xml if isinstance(xml, bytes) else xml.read_bytes())
    points = root.findall(".//geolocationGridPoint")

    def col(tag: str, dtype: str = "float64") -> np.ndarray:
        return np.array([p.findtext(tag) for p in points]).astype(dtype)

    return GeolocationGrid(
        azimuth_time=col("azimuthTime", "datetime64[ns]"),
        slant_range_time=col("slantRangeTime"),
        latitude=col("latitude"),
        longitude=col("longitude"),
        height=col("height"),
        incidence_angle=col("incidenceAngle"),
        elevation_angle=col("elevationAngle"),
        line=col("line", "int64"),
        pixel=col("pixel", "int64"),
    )


def annotation_files(test_data: pathlib.Path) -> list[pathlib.Path]:
    """Every real product annotation XML (not calibration/noise/rfi) with a geolocation grid."""
    found = []
    for path in sorted(test_data.glob("**/*.SAFE/annotation/s1?-iw?-slc-*.xml")):
        if b"<geolocationGridPoint>" in path.read_bytes():
            found.append(path)
    return found


S1READER_ZIP = "s1-reader/S1A_IW_SLC__1SDV_20220828T042306_20220828T042335_044748_0557C6_F396.zip"
S1READER_EOF = (
    "s1-reader/orbits/S1A_OPER_AUX_POEORB_OPOD_20220917T081749_V20220827T225942_20220829T005942.EOF"
)


def zip_annotation(zip_path: pathlib.Path, swath: str = "iw2", pol: str = "vv") -> bytes:
    """Read one annotation XML from inside a SAFE zip, without extracting anything."""
    with zipfile.ZipFile(zip_path) as zf:
        names = [
            n
            for n in zf.namelist()
            if "/annotation/s1" in n and f"-{swath}-slc-{pol}-" in n and n.endswith(".xml")
        ]
        if len(names) != 1:
            raise LookupError(f"expected one {swath} {pol} annotation in {zip_path}, got {names}")
        return zf.read(names[0])


@pytest.fixture(scope="session")
def s1reader_annotation(test_data: pathlib.Path) -> bytes:
    return zip_annotation(test_data / S1READER_ZIP)


@pytest.fixture(scope="session")
def s1reader_eof(test_data: pathlib.Path) -> pathlib.Path:
    return test_data / S1READER_EOF
