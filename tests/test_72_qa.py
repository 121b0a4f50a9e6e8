"""Product QA statistics: compare a coherence product with our recomputation."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest
import xarray as xr

from pairscope import qa

EO_TOOLS = "eo_tools/test-full-processor/S1_InSAR_2023-09-04-063730__2023-09-16-063730"


def _field(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.normal(size=shape), axis=0), axis=1)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (0.1 + 0.8 * smooth).astype("float64")


def test_identical_maps() -> None:
    product = _field((60, 80), 0)
    stats = qa.compare(product, product.copy())
    assert stats["bias"] == 0.0 and stats["rmse"] == 0.0 and stats["mae"] == 0.0
    assert stats["correlation"] == pytest.approx(1.0)
    assert stats["n_both"] == stats["n_product"] == stats["n_ours"] == stats["n_pixels"] == 4800
    hist = stats["histogram"]
    assert hist.shape == (64, 64) and hist.sum() == 4800
    assert np.trace(hist) == 4800  # everything on the diagonal


def test_known_offset_noise_and_masks() -> None:
    rng = np.random.default_rng(1)
    product = _field((200, 300), 2)
    ours = product + 0.05 + rng.normal(0.0, 0.02, product.shape)
    product[:10] = np.nan  # product nodata
    ours[:, :7] = np.nan  # our border
    ours[50, 50] = np.inf
    stats = qa.compare(product, ours)
    assert stats["n_product"] == 190 * 300
    assert stats["n_ours"] == 200 * 293 - 1
    assert stats["n_both"] == 190 * 293 - 1
    assert stats["bias"] == pytest.approx(0.05, abs=0.001)
    assert stats["rmse"] == pytest.approx(np.hypot(0.05, 0.02), abs=0.001)
    assert stats["std_difference"] == pytest.approx(0.02, abs=0.001)
    assert 0.9 < stats["correlation"] < 1.0
    both = np.isfinite(product) & np.isfinite(ours)
    assert stats["mean_ours"] - stats["mean_product"] == pytest.approx(stats["bias"])
    assert np.corrcoef(product[both], ours[both])[0, 1] == pytest.approx(stats["correlation"])


def test_histogram_matches_numpy_oracle() -> None:
    rng = np.random.default_rng(4)
    product = rng.random((50, 50))
    ours = np.clip(product + rng.normal(0, 0.1, product.shape), 0.0, 0.999)
    stats = qa.compare(product, ours, bins=20)
    expected, xe, ye = np.histogram2d(product.ravel(), ours.ravel(), bins=20, range=[[0, 1], [0, 1]])
    np.testing.assert_array_equal(stats["histogram"], expected.astype(np.int64))
    np.testing.assert_allclose(stats["edges"], xe)


def test_out_of_range_values_land_in_end_bins() -> None:
    product = np.array([[-0.5, 0.5], [1.5, 0.25]])
    stats = qa.compare(product, product, bins=4)
    assert stats["histogram"][0, 0] == 1 and stats["histogram"][3, 3] == 1
    assert stats["histogram"].sum() == 4


def test_nothing_in_common() -> None:
    product = np.full((4, 4), np.nan)
    stats = qa.compare(product, np.ones((4, 4)))
    assert stats["n_both"] == 0 and np.isnan(stats["bias"]) and np.isnan(stats["rmse"])
    assert stats["histogram"].sum() == 0


def test_grid_mismatch_is_an_error() -> None:
    a = xr.DataArray(np.ones((3, 4)), dims=("y", "x"), coords={"y": [3.0, 2.0, 1.0], "x": np.arange(4.0)})
    b = a.assign_coords(x=np.arange(4.0) + 0.5)
    with pytest.raises(ValueError, match="to_product_grid"):
        qa.compare(a, b)
    with pytest.raises(ValueError, match="differ in shape"):
        qa.compare(np.ones((3, 4)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="2-D"):
        qa.compare(np.ones(3), np.ones(3))


def test_difference_map_keeps_product_coords() -> None:
    a = xr.DataArray(np.full((1, 3, 4), 0.5), dims=("band", "y", "x"),
                     coords={"band": [1], "y": [3.0, 2.0, 1.0], "x": np.arange(4.0)})
    ours = np.full((3, 4), 0.7)
    ours[0, 0] = np.nan
    diff = qa.difference(a, ours)
    assert diff.dims == ("y", "x") and list(diff["x"].values) == [0.0, 1.0, 2.0, 3.0]
    assert np.isnan(diff.values[0, 0])
    np.testing.assert_allclose(diff.values[1:], 0.2, atol=1e-6)


def test_real_product_against_a_degraded_copy(test_data: pathlib.Path) -> None:
    """The real eo_tools coherence (EPSG:4326, nodata 0) against itself shifted and noisier."""
    import rioxarray

    path = test_data / EO_TOOLS / "coh_vv.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        product = rioxarray.open_rasterio(path, masked=True).squeeze("band", drop=True).load()
    values = product.values
    n_valid = int(np.isfinite(values).sum())
    assert n_valid > 0.5 * values.size
    rng = np.random.default_rng(7)
    ours = product.copy(data=values - 0.03 + rng.normal(0.0, 0.05, values.shape))
    stats = qa.compare(product, ours)
    assert stats["n_product"] == stats["n_both"] == n_valid
    assert stats["bias"] == pytest.approx(-0.03, abs=0.002)
    assert stats["rmse"] == pytest.approx(np.hypot(0.03, 0.05), abs=0.002)
    assert 0.3 < stats["mean_product"] < 1.0
    # the histogram's mass sits around the product's median (~0.81, SOURCES.md)
    rows = stats["histogram"].sum(axis=1)
    median_bin = int(np.searchsorted(np.cumsum(rows), rows.sum() / 2))
    assert 0.7 < stats["edges"][median_bin] < 0.9


# --- best matching window (recomputes with pairscope.coherence) --------------------------------


def _correlated_stack(shape: tuple[int, int], seed: int) -> xr.DataArray:
    """Two dates of circular Gaussian SLCs whose true coherence ramps 0.1 -> 0.95 along range."""
    rng = np.random.default_rng(seed)
    gamma = np.linspace(0.1, 0.95, shape[1])[None, :] * np.ones(shape)

    def noise() -> np.ndarray:
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / np.sqrt(2)

    s1 = noise()
    s2 = gamma * s1 + np.sqrt(1 - gamma**2) * noise()
    dates = np.array(["2024-08-09", "2024-08-21"], dtype="datetime64[ns]")
    return xr.DataArray(np.stack([s1, s2]).astype("complex64"), dims=("date", "azimuth", "range"),
                        coords={"date": dates})


def test_best_matching_window_finds_the_product_window() -> None:
    from pairscope.coherence import estimate

    stack = _correlated_stack((90, 400), 5)
    pair = (stack["date"].values[0], stack["date"].values[1])
    coherence, _ = estimate(stack.values[0], stack.values[1], (3, 10))
    # stored like a published product: uint8 DN with scale 0.004, nodata 255
    dn = np.where(np.isfinite(coherence), np.round(coherence / 0.004), 255).astype(np.uint8)
    product = np.where(dn == 255, np.nan, dn * 0.004)
    found = qa.best_matching_window(product, stack, pair)
    assert found["best"] == (3, 10)
    by_window = {r["window"]: r for r in found["results"]}
    assert set(qa.COMMON_WINDOWS) <= set(by_window)
    assert by_window[(3, 10)]["rmse"] < 0.003  # quantisation only
    # a bigger window is less biased at low coherence: its mean sits below the product's by what
    # the Touzi bias curve predicts (30 vs 400 looks, averaged over the coherence ramp)
    from pairscope.coherence import expected_sample_coherence

    ramp = np.linspace(0.1, 0.95, 400)
    predicted = float(np.mean(expected_sample_coherence(ramp, 400) - expected_sample_coherence(ramp, 30)))
    assert predicted < -0.01
    assert by_window[(10, 40)]["bias"] == pytest.approx(predicted, abs=0.004)
    assert qa.best_matching_window(product, stack, pair, [(5, 21), (3, 10)], refine=False,
                                   criterion="abs_bias")["best"] == (3, 10)
    with pytest.raises(ValueError, match="criterion"):
        qa.best_matching_window(product, stack, pair, criterion="vibes")
    with pytest.raises(ValueError, match="windows is empty"):
        qa.best_matching_window(product, stack, pair, [])


def test_refinement_finds_an_uncommon_window() -> None:
    from pairscope.coherence import estimate

    stack = _correlated_stack((90, 400), 6)
    pair = (stack["date"].values[0], stack["date"].values[1])
    assert (4, 13) not in qa.COMMON_WINDOWS
    product, _ = estimate(stack.values[0], stack.values[1], (4, 13))
    coarse = qa.best_matching_window(product, stack, pair, refine=False)
    assert coarse["best"] != (4, 13) and len(coarse["results"]) == len(qa.COMMON_WINDOWS)
    found = qa.best_matching_window(product, stack, pair)
    assert found["best"] == (4, 13)
    assert min(r["rmse"] for r in found["results"]) < 1e-6
    assert len(found["results"]) <= 40
    with pytest.raises(ValueError, match="not in the stack"):
        qa.best_matching_window(product, stack, ("2024-08-09", "2030-01-01"))


# --- the demo catalog's published-style products ----------------------------------------------


def test_demo_product_window_is_recovered(demo_catalog: pathlib.Path) -> None:
    """The demo's Terrascope-format products (uint8, scale 0.004, UTM 20 m) were made with a 4 x 19
    window: geocoding our recomputation onto the product grid and searching finds exactly that."""
    import pystac

    from pairscope.coherence import estimate_pairs
    from pairscope.io.catalog import open_catalog
    from pairscope.io.rasters import open_product, open_slc_stack

    root = pystac.Catalog.from_file(str(demo_catalog))
    collection = root.get_child("pairscope-demo-coherence")
    assert collection is not None
    item = sorted(collection.get_items(), key=lambda i: i.id)[0]
    product = open_product(item, "VV")
    ref = item.properties["pairscope:reference_date"]
    sec = item.properties["pairscope:secondary_date"]
    stack = open_slc_stack(open_catalog(str(demo_catalog)), "T117_249435_IW2", [ref, sec], "VV")

    ours = qa.to_product_grid(estimate_pairs(stack.load(), [(ref, sec)], (5, 21)), product)
    assert ours.shape == product.shape
    np.testing.assert_array_equal(ours["x"].values, product["x"].values)
    stats = qa.compare(product, ours)
    assert stats["n_both"] == stats["n_product"] > 0.5 * stats["n_pixels"]
    # 105 looks are less biased high than the product's 76: ours is lower on average
    assert -0.02 < stats["bias"] < 0.0 and stats["correlation"] > 0.95

    found = qa.best_matching_window(product, stack, (ref, sec), windows=[(2, 8), (5, 21), (7, 28)])
    assert found["best"] == tuple(item.properties["pairscope:window"]) == (4, 19)
    best = {r["window"]: r for r in found["results"]}[(4, 19)]
    assert best["rmse"] < 0.004  # the product's 0.004 quantisation and nothing else
