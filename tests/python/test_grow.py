"""Growing a store from Python: Store.add_epochs, populate(add_epochs=True), Store.add_objects,
and xarray / zarr-python opening the store while other processes grow and populate it."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import xarray as xr
import zarr

import lcstore
from conftest import synthetic_catalog

OBJECTS = 120
GROWERS, EPOCHS_PER_GROWER = 3, int(os.environ.get("LCSTORE_STRESS_REPETITIONS", "8"))


def new_store(path) -> lcstore.Store:
    return lcstore.create(
        path,
        synthetic_catalog(OBJECTS, 0),
        epochs={"epoch": ["e0", "e1"], "mjd": [60000.0, 60001.0]},
        object_chunk=50,
    )


def test_add_epochs_appends_keys_and_variables_and_populate_can_add_its_epoch(tmp_path):
    store = new_store(tmp_path / "grow.lcz")
    store.populate("e0", synthetic_catalog(OBJECTS, 0))
    assert store.add_epochs({"epoch": ["e2", "e1", "e3"], "mjd": [60002.0, 1.0, 60003.0]}) == 2
    assert store.epochs == ["e0", "e1", "e2", "e3"]
    np.testing.assert_array_equal(store.epoch_variables["mjd"], [60000.0, 60001.0, 60002.0, 60003.0])
    assert store.add_epochs(["e3", "e0"]) == 0
    report = store.populate("e7", synthetic_catalog(OBJECTS, 7), add_epochs=True)
    assert report.values_written == OBJECTS * 2 * 2
    assert store.epochs == ["e0", "e1", "e2", "e3", "e7"]
    assert np.isnan(store.epoch_variables["mjd"][-1])

    dataset = xr.open_zarr(store.path)
    assert dataset.sizes["epoch"] == 5 and list(dataset["epoch"].values) == store.epochs
    curves = store.lightcurves(store.objects)
    np.testing.assert_array_equal(dataset["lightcurves"].values, curves)
    expected = synthetic_catalog(OBJECTS, 7)["mag_auto"]
    np.testing.assert_array_equal(curves[:, 0, 0, 4], expected)
    assert np.isnan(curves[:, :, :, 1:4]).all()
    assert lcstore.open(store.path).epochs == store.epochs


def test_populate_many_adds_the_epochs_it_needs_from_threads(tmp_path):
    store = new_store(tmp_path / "grow.lcz")
    keys = [f"n{i}" for i in range(6)]
    catalogs = [synthetic_catalog(OBJECTS, 10 + i) for i in range(6)]
    reports = store.populate_many(catalogs, keys, threads=3, add_epochs=True)
    assert [report.epoch for report in reports] == keys
    assert sorted(store.epochs[2:]) == keys and store.epochs[:2] == ["e0", "e1"]
    curves = store.lightcurves(store.objects, "auto")
    for i, key in enumerate(keys):
        np.testing.assert_array_equal(curves[:, 0, 0, store.epochs.index(key)], catalogs[i]["mag_auto"])


def test_add_epochs_refuses_a_variable_the_store_lacks(tmp_path):
    store = new_store(tmp_path / "grow.lcz")
    with pytest.raises(lcstore.BadInputError, match="airmass"):
        store.add_epochs({"epoch": ["e5"], "airmass": [1.3]})
    assert store.epochs == ["e0", "e1"]
    with pytest.raises(lcstore.ReadOnlyError):
        lcstore.open(store.path).add_epochs(["e5"])


def test_add_objects_appends_keys_and_positions_and_they_can_be_populated(tmp_path):
    store = lcstore.create(
        tmp_path / "grow.lcz", synthetic_catalog(OBJECTS, 0, slice(0, 90)), epochs=["e0", "e1"], object_chunk=50
    )
    store.populate("e0", synthetic_catalog(OBJECTS, 0, slice(0, 90)))
    # A deeper catalog: objects 60..119, of which 60..89 are there already.
    assert store.add_objects(synthetic_catalog(OBJECTS, 0, slice(60, OBJECTS))) == 30
    assert store.objects == [str(i) for i in range(OBJECTS)]
    np.testing.assert_array_equal(store.positions["ra"], 10.0 + np.arange(OBJECTS) * 1e-3)
    assert store.add_objects(synthetic_catalog(OBJECTS, 0, slice(100, 110))) == 0
    curves = store.lightcurves(store.objects, "auto")
    assert np.isnan(curves[90:]).all() and not np.isnan(curves[:90, ..., 0]).any()
    store.populate("e1", synthetic_catalog(OBJECTS, 1))
    mag = store.lightcurve("115", "auto").sel(value="mag").values
    np.testing.assert_array_equal(mag, [np.nan, synthetic_catalog(OBJECTS, 1)["mag_auto"][115]])
    assert list(store.cone(10.0 + 0.115, -5.0 + 0.115, 1.0).objects) == ["115"]

    dataset = xr.open_zarr(store.path)
    assert dataset.sizes["object"] == OBJECTS and list(dataset["object"].values) == store.objects
    np.testing.assert_array_equal(dataset["lightcurves"].values, store.lightcurves(store.objects))
    assert lcstore.open(store.path).objects == store.objects
    with pytest.raises(lcstore.ReadOnlyError):
        lcstore.open(store.path).add_objects(synthetic_catalog(OBJECTS + 5, 0))


def test_populate_add_unmatched_adds_the_rows_no_object_matches(tmp_path):
    store = lcstore.create(tmp_path / "grow.lcz", synthetic_catalog(OBJECTS, 0, slice(0, 100)), epochs=["e0", "e1"])
    with pytest.raises(lcstore.InvalidArgumentError, match="add_unmatched"):
        store.populate("e0", synthetic_catalog(OBJECTS, 0), add_unmatched=True)
    report = store.populate("e0", synthetic_catalog(OBJECTS, 0), match="position:0.5", add_unmatched=True)
    assert report.objects_added == 20 and report.objects_written == OBJECTS
    assert store.objects[100:] == [f"e0-{i}" for i in range(100, OBJECTS)]
    again = store.populate("e1", synthetic_catalog(OBJECTS, 1), match="position:0.5", add_unmatched=True)
    assert again.objects_added == 0 and again.objects_written == OBJECTS
    mag = store.lightcurve("e0-110", "auto").sel(value="mag").values
    np.testing.assert_array_equal(mag, [synthetic_catalog(OBJECTS, e)["mag_auto"][110] for e in (0, 1)])


def grow_and_populate(path: str, grower: int) -> int:
    store = lcstore.open(path, "r+")
    for i in range(EPOCHS_PER_GROWER):
        epoch = 100 + 100 * grower + i
        store.populate(f"e{epoch}", synthetic_catalog(OBJECTS, epoch), add_epochs=True)
    return grower


def check_consistent_view(path: str) -> int:
    """Opens the store as xarray and as zarr-python do; returns xarray's epoch count."""
    dataset = xr.open_zarr(path)  # raises on arrays whose epoch sizes conflict
    epochs = dataset["epoch"].values
    assert all(epochs), "an epoch label not yet written"
    assert dataset["lightcurves"].sizes["epoch"] == len(epochs) == dataset["epoch_mjd"].size
    group = zarr.open_group(path, mode="r")
    labels = group["epoch"][:]
    assert all(labels) and group.attrs["n_epochs"] == len(labels)
    for name, array in group.arrays():
        dims = array.metadata.dimension_names or ()
        if "epoch" in dims:
            assert array.shape[dims.index("epoch")] == len(labels), name
    return len(epochs)


def test_xarray_and_zarr_python_see_one_epoch_count_while_processes_grow_the_store(tmp_path):
    path = str(tmp_path / "grow.lcz")
    new_store(path)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(GROWERS, mp_context=context) as pool:
        growers = [pool.submit(grow_and_populate, path, grower) for grower in range(GROWERS)]
        counts = []
        while not all(future.done() for future in growers) or not counts:
            counts.append(check_consistent_view(path))
        assert sorted(future.result() for future in growers) == list(range(GROWERS))
    assert counts == sorted(counts)
    final = lcstore.open(path)
    assert len(final.epochs) == 2 + GROWERS * EPOCHS_PER_GROWER
    dataset = xr.open_zarr(path)
    for grower in range(GROWERS):
        for i in range(EPOCHS_PER_GROWER):
            epoch = 100 + 100 * grower + i
            got = dataset["lightcurves"].sel(epoch=f"e{epoch}", measurement="auto", value="mag").values
            np.testing.assert_array_equal(got, synthetic_catalog(OBJECTS, epoch)["mag_auto"])
