"""lcstore.compat: the original's API, its unsafe scenario made safe, and a store the original wrote."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr
from astropy.table import Table

import lcstore
from lcstore.compat import LightcurveStorage, SourceCatalog, StorageNotFoundError

OBJECTS, EPOCHS, WORKERS = 400, 5, 4
REPETITIONS = int(os.environ.get("LCSTORE_STRESS_REPETITIONS", "100"))
EPOCH_KEYS = [f"r{5800 + epoch}" for epoch in range(EPOCHS)]
VERSIONS = ("v0", "v1", "v2")


def catalog_table(epoch: int, rows=slice(None)) -> Table:
    index = np.arange(OBJECTS)[rows]
    return Table(
        {
            "id": [f"I{i}" for i in index],
            "ra": 17.0 + index * 1e-4,
            "dec": 65.0 + (index % 37) * 1e-4,
            "x": index.astype(np.float32),
            "y": (index % 37).astype(np.float32),
            "mag_auto": (14 + index * 1e-3 + epoch * 0.1).astype(np.float32),
            "magerr_auto": (0.02 + epoch * 1e-3 + index * 1e-6).astype(np.float32),
            "mag_iso": (15 + index * 1e-3 + epoch * 0.1).astype(np.float32),
            "magerr_iso": (0.03 + epoch * 1e-3 + index * 1e-6).astype(np.float32),
        }
    )


def populate_partition(path: str, worker: int, version: str) -> int:
    storage = LightcurveStorage(path)
    storage.load_storage(consolidated=False)
    rows = slice(worker * OBJECTS // WORKERS, (worker + 1) * OBJECTS // WORKERS)
    method = getattr(storage, f"populate_epoch_from_catalog_{version}")
    written = 0
    for epoch, key in enumerate(EPOCH_KEYS):
        catalog = SourceCatalog(catalog_table(epoch, rows))
        written += method(key, catalog, catalog.measurement_keys)
    return written


def check_equals_catalogs(path) -> None:
    storage = LightcurveStorage(path)
    lightcurves = storage.load_storage()
    for epoch, key in enumerate(EPOCH_KEYS):
        table = catalog_table(epoch)
        at_epoch = lightcurves.sel(epoch=key, object=list(table["id"])).values
        np.testing.assert_array_equal(at_epoch[:, 0, 0], table["mag_auto"])
        np.testing.assert_array_equal(at_epoch[:, 1, 1], table["magerr_iso"])
        assert not np.isnan(at_epoch).any()


def run_scenario(tmp_path, pool, version: str) -> None:
    """The report's scenario: 4 workers, each with its own LightcurveStorage, disjoint 100-object partitions."""
    for repetition in range(REPETITIONS):
        path = tmp_path / f"{version}-{repetition}"
        LightcurveStorage(path).create_storage(SourceCatalog(catalog_table(0)), EPOCH_KEYS)
        written = list(pool.map(populate_partition, [str(path)] * WORKERS, range(WORKERS), [version] * WORKERS))
        assert sum(written) == OBJECTS * EPOCHS * 2 * 2
        check_equals_catalogs(path)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_report_scenario_in_threads_loses_nothing(tmp_path, version):
    with ThreadPoolExecutor(WORKERS) as pool:
        run_scenario(tmp_path, pool, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_report_scenario_in_processes_loses_nothing(tmp_path, version):
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        run_scenario(tmp_path, pool, version)


def test_source_catalog_reads_plain_and_sextractor_names():
    catalog = SourceCatalog(catalog_table(0))
    assert catalog.measurement_keys == ["auto", "iso"] and catalog.value_keys == ["mag", "mag_err"]
    assert catalog.object_keys[3] == "I3" and len(catalog) == OBJECTS
    np.testing.assert_array_equal(catalog.x_values[:3], [0, 1, 2])
    sextractor = Table({"NUMBER": [7, 8], "ALPHA_J2000": [1.0, 2.0], "DELTA_J2000": [3.0, 4.0],
                        "MAG_APER_1": [20.0, 99.0], "MAGERR_APER_1": [0.1, 99.0]})
    catalog = SourceCatalog(sextractor)
    assert list(catalog.object_keys) == ["7", "8"] and catalog.measurement_keys == ["aper_1"]
    np.testing.assert_array_equal(catalog.get_valid_measurement_mask(["aper_1"]), [True, False])
    with pytest.raises(lcstore.BadInputError, match="object key"):
        SourceCatalog(Table({"ra": [1.0]}))


def test_the_original_workflow_and_its_later_names(tmp_path):
    catalog = SourceCatalog(catalog_table(0))
    storage = LightcurveStorage(tmp_path, chunk_size=64)
    with pytest.raises(StorageNotFoundError) as raised:
        storage.load_storage()
    assert isinstance(raised.value, RuntimeError)
    assert storage.get_storage_info()["status"] == "not_created"
    storage.create_for_per_epoch_write(catalog, EPOCH_KEYS)
    assert (tmp_path / "lightcurves.zarr" / "zarr.json").exists()
    assert storage.lightcurves.dims == ("object", "measurement", "value", "epoch")
    for epoch, key in enumerate(EPOCH_KEYS):
        assert storage.populate_epoch(SourceCatalog(catalog_table(epoch)), key) == OBJECTS * 4
    storage.rechunk_for_per_object_read(32)
    lightcurves = storage.load_for_per_object_read()
    curve = storage.get_object_lightcurve("I10", "auto", "mag")
    np.testing.assert_array_equal(curve.values, [catalog_table(e)["mag_auto"][10] for e in range(EPOCHS)])
    np.testing.assert_array_equal(curve.values, lightcurves.sel(object="I10", measurement="auto", value="mag").values)
    epoch = storage.get_epoch_data(EPOCH_KEYS[2], "iso")
    assert epoch.dims == ("object", "value")
    table = catalog_table(0)
    inside = [key for key, ra, dec in zip(table["id"], table["ra"], table["dec"]) if 17.01 <= ra <= 17.02 and dec <= 65.002]
    found = storage.get_objects_in_region((17.01, 17.02), (64.0, 65.002))
    assert sorted(found) == sorted(inside) and len(found) > 0
    info = storage.get_storage_info()
    assert info["status"] == "ready" and info["data_shape"] == {"object": 400, "measurement": 2, "value": 2, "epoch": 5}
    assert info["n_objects"] == 400 and info["measurement_keys"] == ["auto", "iso"]
    storage.close()
    assert storage.lightcurves is None


def test_invalid_rows_are_not_written(tmp_path):
    storage = LightcurveStorage(tmp_path)
    storage.create_storage(SourceCatalog(catalog_table(0)), EPOCH_KEYS)
    table = catalog_table(1)
    table["mag_auto"][5] = 99.0
    written = storage.populate_epoch_from_catalog(EPOCH_KEYS[1], SourceCatalog(table), ["auto", "iso"])
    assert written == (OBJECTS - 1) * 4
    assert np.isnan(storage.get_object_lightcurve("I5").sel(epoch=EPOCH_KEYS[1]).values).all()


def test_a_compat_store_is_the_original_layout_for_xarray(tmp_path):
    storage = LightcurveStorage(tmp_path, enable_spatial_chunking=False)
    storage.create_storage(SourceCatalog(catalog_table(0)), EPOCH_KEYS)
    storage.populate_epoch_from_catalog_v2(EPOCH_KEYS[3], SourceCatalog(catalog_table(3)), ["auto", "iso"])
    dataset = xr.open_zarr(tmp_path / "lightcurves.zarr")
    assert dataset["lightcurves"].dims == ("object", "measurement", "value", "epoch")
    assert {"ra", "dec", "x_image", "y_image"} <= set(dataset["lightcurves"].coords)
    xr.testing.assert_identical(storage.lightcurves.load(), dataset["lightcurves"].load())
    curve = lcstore.open(tmp_path / "lightcurves.zarr").lightcurve("I7", "auto")
    assert curve.sel(value="mag", epoch=EPOCH_KEYS[3]).item() == catalog_table(3)["mag_auto"][7]
