"""A store the original Python pipeline wrote (xarray ``to_zarr``, no lcstore attributes) opens through both APIs.

The fixture ``xarray_lightcurves.zarr`` holds 120 objects x 3 measurements x 2
values x 9 epochs; its full content is ``lightcurves.expected.f64``.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr

import lcstore
from lcstore.compat import LightcurveStorage, SourceCatalog
from conftest import XARRAY_STORE

SHAPE = (120, 3, 2, 9)


@pytest.fixture(scope="module")
def expected() -> np.ndarray:
    return np.fromfile(XARRAY_STORE / "lightcurves.expected.f64", dtype="<f8").reshape(SHAPE)


@pytest.fixture(scope="module")
def reference() -> xr.Dataset:
    with xr.open_zarr(XARRAY_STORE) as dataset:
        yield dataset.load()


def files_under(path) -> dict:
    return {str(entry): entry.stat().st_mtime_ns for entry in path.rglob("*")}


def test_opens_with_the_datasets_labels(reference):
    with lcstore.open(XARRAY_STORE) as store:
        assert store.objects == reference.object.values.tolist()
        assert store.measurements == ["auto", "iso", "aper_2"]
        assert store.values == ["mag", "mag_err"]
        assert store.epochs == reference.epoch.values.tolist()
        np.testing.assert_array_equal(store.epoch_variables["mjd"], reference.epoch_mjd.values)
        for name in ("ra", "dec", "x_image", "y_image"):
            np.testing.assert_array_equal(store.positions[name], reference[name].values)
        assert store.info()["description"] == "IDF lightcurve data"


def test_light_curves_and_epochs_equal_the_expected_content(expected, reference):
    with lcstore.open(XARRAY_STORE) as store:
        np.testing.assert_array_equal(store.lightcurves(store.objects).astype(np.float64), expected)
        np.testing.assert_array_equal(store.lightcurves(["I7", "I3"], "iso")[:, 0], expected[[7, 3], 1])
        curve = store.lightcurve("I42")
        np.testing.assert_array_equal(curve.values, expected[42])
        assert curve.dims == ("measurement", "value", "epoch")
        np.testing.assert_array_equal(curve.epoch_mjd.values, reference.epoch_mjd.values)
        assert float(curve.ra) == float(reference.ra[42])
        for index, key in enumerate(store.epochs):
            np.testing.assert_array_equal(store.epoch(key).values, expected[..., index])


def test_region_and_cone_agree_with_a_scan(reference):
    ra, dec = reference.ra.values, reference.dec.values
    with lcstore.open(XARRAY_STORE) as store:
        box = (ra >= 265.0) & (ra <= 265.1) & (dec >= 65.3) & (dec <= 65.6)
        assert box.any()
        found = store.region(ra=(265.0, 265.1), dec=(65.3, 65.6))
        assert sorted(found.rows.tolist()) == np.flatnonzero(box).tolist()
        centre = np.radians([ra[7], dec[7]])
        positions = np.radians([ra, dec])
        # The haversine separation, in arcsec.
        h = np.sin((positions[1] - centre[1]) / 2) ** 2 + np.cos(centre[1]) * np.cos(positions[1]) * np.sin(
            (positions[0] - centre[0]) / 2
        ) ** 2
        separation = np.degrees(2 * np.arcsin(np.sqrt(h))) * 3600
        cone = store.cone(ra[7], dec[7], 900.0)
        assert sorted(cone.rows.tolist()) == np.flatnonzero(separation <= 900.0).tolist()
        assert len(cone) > 1 and cone.objects[0] == "I7"
        np.testing.assert_allclose(cone.separation_arcsec, separation[cone.rows.astype(int)], rtol=1e-9, atol=1e-9)


def test_the_xarray_backend_gives_the_dataset_xarray_gives(reference):
    with xr.open_dataset(XARRAY_STORE, engine="lcstore") as dataset:
        xr.testing.assert_identical(dataset.load(), reference)


def test_reading_writes_nothing():
    before = files_under(XARRAY_STORE)
    with lcstore.open(XARRAY_STORE) as store:
        store.lightcurves(store.objects)
        store.cone(265.05, 65.55, 600)
        store.info()
        store.to_xarray().load()
    assert files_under(XARRAY_STORE) == before


def test_populates_through_the_engine_and_xarray_reads_it(tmp_path, expected):
    path = tmp_path / "original.zarr"
    shutil.copytree(XARRAY_STORE, path)
    rows = np.arange(10, 30)
    catalog = {
        "id": [f"I{row}" for row in rows],
        "MAG_ISO": (20 + rows * 0.01).astype(np.float32),
        "MAGERR_ISO": (0.05 + rows * 1e-4).astype(np.float32),
    }
    with lcstore.open(path, "r+") as store:
        report = store.populate("r58521344", catalog, "v1")
    assert report.values_written == 2 * len(rows)
    changed = expected.copy()
    changed[rows, 1, 0, 2] = catalog["MAG_ISO"]
    changed[rows, 1, 1, 2] = catalog["MAGERR_ISO"]
    with lcstore.open(path) as store:
        np.testing.assert_array_equal(store.lightcurves(store.objects), changed)
    with xr.open_zarr(path) as dataset:
        np.testing.assert_array_equal(dataset.lightcurves.values, changed)


def test_the_original_api_opens_populates_and_queries_it(tmp_path, expected, reference):
    from astropy.table import Table

    shutil.copytree(XARRAY_STORE, tmp_path / "lightcurves.zarr")
    storage = LightcurveStorage(tmp_path)
    lightcurves = storage.load_storage()
    assert lightcurves.dims == ("object", "measurement", "value", "epoch")
    np.testing.assert_array_equal(storage.get_object_lightcurve("I5").values, expected[5])
    np.testing.assert_array_equal(storage.get_object_lightcurve("I5", "auto").values, expected[5, 0])
    np.testing.assert_array_equal(storage.get_epoch_data("r58520832").values, expected[..., 0])
    ra, dec = reference.ra.values, reference.dec.values
    box = (ra >= 265.0) & (ra <= 265.1) & (dec >= 65.3) & (dec <= 65.6)
    assert storage.get_objects_in_region((265.0, 265.1), (65.3, 65.6)) == [f"I{row}" for row in np.flatnonzero(box)]
    info = storage.get_storage_info()
    assert info["status"] == "ready" and info["n_objects"] == 120 and info["n_epochs"] == 9
    assert info["data_shape"] == dict(zip(("object", "measurement", "value", "epoch"), SHAPE))

    table = Table({"id": ["I0", "I1"], "mag_auto": [18.5, 19.25], "magerr_auto": [0.02, 0.03]})
    assert storage.populate_epoch_from_catalog_v2("r58522880", SourceCatalog(table), ["auto"]) == 4
    storage.close()
    changed = expected.copy()
    changed[[0, 1], 0, 0, 8] = np.float32([18.5, 19.25])
    changed[[0, 1], 0, 1, 8] = np.float32([0.02, 0.03])
    reopened = LightcurveStorage(tmp_path)
    np.testing.assert_array_equal(reopened.load_storage().values, changed)
    reopened.close()


def test_a_group_without_light_curves_is_refused():
    with pytest.raises(lcstore.InvalidMetadataError) as raised:
        lcstore.open(XARRAY_STORE.parent / "group_consolidated")
    assert "not a light-curve store" in raised.value.reason
