"""xr.open_dataset(path, engine="lcstore") against xr.open_zarr on the same store."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import lcstore
from conftest import synthetic_catalog


def populated(tmp_path):
    store = lcstore.create(tmp_path / "s.lcz", synthetic_catalog(120, 0), {"epoch": ["a", "b", "c"], "mjd": [1.0, 2.0, 3.0]},
                           object_chunk=50)
    for epoch, key in enumerate(["a", "b", "c"]):
        store.populate(key, synthetic_catalog(120, epoch, slice(epoch * 10, None)))
    return store


def test_equals_open_zarr(tmp_path):
    store = populated(tmp_path)
    through_engine = xr.open_dataset(store.path, engine="lcstore")
    assert not isinstance(through_engine["lightcurves"].variable._data, np.ndarray)  # lazily loaded
    xr.testing.assert_identical(through_engine, xr.open_zarr(store.path).load())


def test_the_read_layout_current_and_stale(tmp_path):
    store = populated(tmp_path)
    store.rechunk(object_chunk=16)
    xr.testing.assert_identical(xr.open_dataset(store.path, engine="lcstore"), xr.open_zarr(store.path).load())
    store.populate("a", synthetic_catalog(120, 7))
    stale = xr.open_dataset(store.path, engine="lcstore")
    xr.testing.assert_identical(stale, xr.open_zarr(store.path).load())
    assert not stale["lightcurves"].equals(stale["lightcurves_by_object"])


def test_selections_read_only_what_they_ask(tmp_path):
    store = populated(tmp_path)
    dataset = xr.open_dataset(store.path, engine="lcstore")
    everything = store.lightcurves(store.objects)
    picked = dataset["lightcurves"].isel(object=[5, 70, 3], measurement=1, epoch=slice(1, None)).values
    np.testing.assert_array_equal(picked, everything[[5, 70, 3]][:, 1, :, 1:])
    one = dataset["lightcurves"].sel(object="42", value="mag_err").values
    np.testing.assert_array_equal(one, everything[42, :, 1, :])
    epoch = dataset["lightcurves"].isel(object=[5, 70, 3], value=0, epoch=2).values
    np.testing.assert_array_equal(epoch, everything[[5, 70, 3]][:, :, 0, 2])
    np.testing.assert_array_equal(dataset["lightcurves"].sel(epoch="b").values, everything[..., 1])
    np.testing.assert_array_equal(dataset["lightcurves"].sel(object="7", epoch="c").values, everything[7, ..., 2])


@pytest.mark.filterwarnings("ignore:The specified chunks separate the stored chunks")
def test_chunks_give_dask_arrays_of_the_same_values(tmp_path):
    store = populated(tmp_path)
    chunked = xr.open_dataset(store.path, engine="lcstore", chunks={})
    assert chunked["lightcurves"].chunks[0] == (50, 50, 20)
    xr.testing.assert_identical(chunked.compute(), xr.open_zarr(store.path).load())
    assert store.to_xarray(chunks={"object": 100})["lightcurves"].chunks[0] == (100, 20)


def test_the_backend_is_found_by_its_entry_point():
    assert "lcstore" in xr.backends.list_engines()


def test_arrays_the_engine_does_not_hold_are_read_too(tmp_path):
    # lcstore features and calibrate add arrays (features[object, measurement,
    # feature], epoch_zeropoint_<m>) that the engine's labels do not cover.
    store = populated(tmp_path)
    import zarr

    group = zarr.open_group(store.path, mode="r+")
    features = group.create_array("features", shape=(120, 2), dtype="float64", chunks=(50, 2),
                                  dimension_names=("object", "feature"), fill_value=np.nan)
    features[:] = np.arange(240.0).reshape(120, 2)
    group.create_array("feature", shape=(2,), dtype=str, dimension_names=("feature",))[:] = ["n_good", "median"]
    zarr.consolidate_metadata(store.path)
    through_engine = xr.open_dataset(store.path, engine="lcstore")
    assert through_engine["features"].values[3, 1] == 7.0
    xr.testing.assert_identical(through_engine, xr.open_zarr(store.path).load())
