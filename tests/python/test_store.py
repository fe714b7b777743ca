"""The native API: create, populate, query, against independent readers of the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from astropy.table import Table

import lcstore
from conftest import FIELD_EPOCHS, field_catalog, synthetic_catalog


def astropy_fits(path) -> Table:
    return Table.read(path, format="fits", hdu=1)


@pytest.fixture
def field_store(tmp_path, field_fixtures):
    store = lcstore.create(
        tmp_path / "field.lcz",
        field_catalog("coadd"),
        epochs={"epoch": FIELD_EPOCHS, "mjd": [60000.5, 60001.5, 60002.5, 60003.5]},
    )
    reports = store.populate_many(
        [field_catalog(f"epoch_{key}") for key in FIELD_EPOCHS], epoch_from_name=r"epoch_(\d+)", threads=2
    )
    assert [report.epoch for report in reports] == FIELD_EPOCHS
    return store


def test_populated_values_equal_astropy_reading_the_same_fits_catalogs(field_store):
    assert field_store.measurements == ["auto", "iso", "aper", "aper_1", "aper_2", "aper_3"]
    curves = field_store.lightcurves(field_store.objects)
    assert curves.shape == (281, 6, 2, 4) and curves.dtype == np.float32
    rows = {key: row for row, key in enumerate(field_store.objects)}
    for epoch, key in enumerate(FIELD_EPOCHS):
        catalog = astropy_fits(field_catalog(f"epoch_{key}"))
        at = np.array([rows[str(number)] for number in catalog["NUMBER"]])
        np.testing.assert_array_equal(curves[at, 0, 0, epoch], catalog["MAG_AUTO"])
        np.testing.assert_array_equal(curves[at, 1, 1, epoch], catalog["MAGERR_ISO"])
        np.testing.assert_array_equal(curves[at, 5, 0, epoch], catalog["MAG_APER"][:, 3])


def test_lightcurve_is_a_dataarray_with_the_original_coordinates(field_store):
    curve = field_store.lightcurve("17")
    assert curve.dims == ("measurement", "value", "epoch")
    assert list(curve["epoch"].values) == FIELD_EPOCHS
    assert curve["object"].item() == "17"
    np.testing.assert_array_equal(curve["epoch_mjd"].values, [60000.5, 60001.5, 60002.5, 60003.5])
    coadd = astropy_fits(field_catalog("coadd"))
    row = int(np.flatnonzero(coadd["NUMBER"] == 17)[0])
    assert curve["ra"].item() == coadd["ALPHA_J2000"][row]
    np.testing.assert_array_equal(curve.values, field_store.lightcurves(["17"])[0])
    one = field_store.lightcurve("17", "aper_1")
    assert one.dims == ("value", "epoch")
    np.testing.assert_array_equal(one.values, curve.sel(measurement="aper_1").values)


def test_lightcurves_keep_the_order_asked_and_select_a_measurement(field_store):
    everything = field_store.lightcurves(field_store.objects)
    rows = [200, 3, 150, 3]
    picked = field_store.lightcurves([field_store.objects[row] for row in rows], measurement="iso")
    np.testing.assert_array_equal(picked, everything[rows][:, [1]])


def test_epoch_is_every_object_at_one_epoch(field_store):
    epoch = field_store.epoch("002")
    assert epoch.dims == ("object", "measurement", "value")
    np.testing.assert_array_equal(epoch.values, field_store.lightcurves(field_store.objects)[:, :, :, 2])


def test_region_and_cone_agree_with_a_brute_force_search(field_store):
    positions = field_store.positions
    ra, dec = positions["ra"], positions["dec"]
    box = ((265.0, 265.1), (65.5, 65.6))
    found = field_store.region(ra=box[0], dec=box[1])
    inside = (ra >= box[0][0]) & (ra <= box[0][1]) & (dec >= box[1][0]) & (dec <= box[1][1])
    assert 0 < inside.sum() < len(ra)
    assert sorted(found.rows.tolist()) == np.flatnonzero(inside).tolist()
    assert set(found.objects) == {field_store.objects[row] for row in np.flatnonzero(inside)}

    centre = (float(np.median(ra)), float(np.median(dec)))
    cone = field_store.cone(*centre, radius_arcsec=60)
    a, d, ca, cd = map(np.radians, (ra, dec, *centre))
    separation = np.degrees(
        2 * np.arcsin(np.sqrt(np.sin((d - cd) / 2) ** 2 + np.cos(d) * np.cos(cd) * np.sin((a - ca) / 2) ** 2))
    ) * 3600
    assert sorted(cone.rows.tolist()) == np.flatnonzero(separation <= 60).tolist()
    assert np.all(np.diff(cone.separation_arcsec) >= 0)
    np.testing.assert_allclose(cone.separation_arcsec, separation[cone.rows.astype(int)], rtol=1e-9, atol=1e-9)


def test_a_second_populate_many_is_journaled_as_done(field_store):
    catalogs = [field_catalog(f"epoch_{key}") for key in FIELD_EPOCHS]
    again = field_store.populate_many(catalogs, epoch_from_name=r"epoch_(\d+)", threads=2)
    assert all(report.already_done and report.values_written == 0 for report in again)
    forced = field_store.populate(FIELD_EPOCHS[0], catalogs[0], force=True)
    assert not forced.already_done and forced.values_written == 281 * 6 * 2 and forced.format == "fits_1.0"


def test_a_catalog_written_over_is_written_again_and_info_names_both(field_store):
    first, second = (field_catalog(f"epoch_{key}") for key in FIELD_EPOCHS[:2])
    epoch = FIELD_EPOCHS[0]
    with pytest.raises(lcstore.BadInputError, match=f"finite values of epoch {epoch}") as refused:
        field_store.populate(epoch, second, no_overwrite=True)
    assert "no_overwrite" in str(refused.value)
    over = field_store.populate(epoch, second)
    assert not over.already_done and over.finite_cells_overwritten > 0
    back = field_store.populate(epoch, first)
    assert not back.already_done and back.finite_cells_overwritten == over.finite_cells_overwritten
    assert field_store.populate(epoch, first).already_done
    assert field_store.info()["epoch_catalogs"][epoch] == [str(second), str(first)]


def test_progress_callback_sees_every_report(tmp_path):
    store = lcstore.create(tmp_path / "s", synthetic_catalog(50, 0), ["a", "b", "c"])
    seen = []
    store.populate_many([synthetic_catalog(50, e) for e in range(3)], epochs=["a", "b", "c"], progress=seen.append)
    assert sorted(report.epoch for report in seen) == ["a", "b", "c"]


def test_in_memory_tables_populate_as_their_file_does(tmp_path, field_fixtures):
    path = field_catalog("epoch_001")
    catalog = astropy_fits(path)
    expected = None
    for kind, table in [
        ("file", path),
        ("astropy", catalog),
        ("pandas", catalog[[name for name in catalog.colnames if catalog[name].ndim == 1]].to_pandas()),
        ("dict", {name: np.asarray(catalog[name]) for name in catalog.colnames}),
    ]:
        store = lcstore.create(tmp_path / kind, field_catalog("coadd"), FIELD_EPOCHS, measurements=["auto", "iso"])
        report = store.populate("001", table)
        assert report.values_written == 281 * 2 * 2, kind
        curves = store.lightcurves(store.objects)
        if expected is None:
            expected = curves
        np.testing.assert_array_equal(curves, expected, err_msg=kind)


def test_the_three_strategies_write_the_same_store(tmp_path):
    results = []
    for strategy in lcstore.store.STRATEGIES:
        store = lcstore.create(tmp_path / strategy, synthetic_catalog(300, 0), ["e0", "e1"], object_chunk=64)
        store.populate("e0", synthetic_catalog(300, 0, slice(0, 200)), strategy)
        store.populate("e1", synthetic_catalog(300, 1, slice(100, 300)), strategy)
        results.append(store.lightcurves(store.objects))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    assert np.isnan(results[0][200:, :, :, 0]).all() and np.isnan(results[0][:100, :, :, 1]).all()
    np.testing.assert_array_equal(results[0][5, 0, 0, 0], np.float32(10 + 5e-3))


def test_rechunk_reads_the_same_values_and_info_says_so(field_store):
    before = field_store.lightcurves(field_store.objects)
    assert field_store.info()["read_layout"]["status"] == "absent"
    field_store.rechunk(object_chunk=32, threads=2)
    assert field_store.read_layout_current
    np.testing.assert_array_equal(field_store.lightcurves(field_store.objects), before)
    info = field_store.info()
    assert info["read_layout"]["status"] == "current" and info["read_layout"]["shards"][0] == 32
    assert info["shape"] == [281, 6, 2, 4] and info["epochs"] == FIELD_EPOCHS
    field_store.populate("000", field_catalog("epoch_000"), force=True)
    assert not field_store.read_layout_current and field_store.info()["read_layout"]["status"] == "stale"


def test_the_store_opens_in_xarray_as_the_engine_reads_it(field_store):
    dataset = xr.open_zarr(field_store.path)
    np.testing.assert_array_equal(dataset["lightcurves"].values, field_store.lightcurves(field_store.objects))
    assert list(dataset["object"].values) == field_store.objects


def test_a_pickled_store_reopens_with_its_mode(field_store):
    import pickle

    again = pickle.loads(pickle.dumps(lcstore.open(field_store.path)))
    assert again.mode == "r" and again.objects == field_store.objects


def test_epoch_variables_from_a_pandas_table(tmp_path):
    epochs = pd.DataFrame({"epoch": ["a", "b"], "mjd": [1.5, 2.5], "aorkey": ["r1", "r2"]})
    store = lcstore.create(tmp_path / "s", synthetic_catalog(10, 0), epochs)
    variables = store.epoch_variables
    np.testing.assert_array_equal(variables["mjd"], [1.5, 2.5])
    assert variables["aorkey"] == ["r1", "r2"]
    assert xr.open_zarr(store.path)["epoch_mjd"].values.tolist() == [1.5, 2.5]


def test_read_catalog_gives_columns_or_an_astropy_table(field_fixtures):
    path = field_catalog("epoch_000")
    columns = lcstore.read_catalog(path)
    reference = astropy_fits(path)
    np.testing.assert_array_equal(columns["MAG_AUTO"], reference["MAG_AUTO"])
    np.testing.assert_array_equal(columns["MAG_APER_2"], reference["MAG_APER"][:, 2])
    table = lcstore.read_catalog(field_catalog("epoch_000", "ecsv"), astropy=True)
    assert table.meta["format"] == "ecsv" and len(table) == len(reference)
    cleaned = lcstore.read_catalog(path, invalid_to_nan=True)
    assert np.isnan(cleaned["MAG_AUTO"][columns["MAG_AUTO"] >= 50]).all()


def test_populate_many_with_a_progress_bar_and_a_failure_raises_after_the_rest(tmp_path, capsys):
    store = lcstore.create(tmp_path / "s", synthetic_catalog(30, 0), ["a", "b", "c"])
    catalogs = [synthetic_catalog(30, 0), synthetic_catalog(31, 1), synthetic_catalog(30, 2)]
    with pytest.raises(lcstore.BadInputError, match="not in the store"):
        store.populate_many(catalogs, epochs=["a", "b", "c"], threads=1, progress=True)
    assert "populate" in capsys.readouterr().err  # the tqdm bar
    curves = store.lightcurves(store.objects)
    assert not np.isnan(curves[:, :, :, [0, 2]]).any() and np.isnan(curves[:, :, :, 1]).all()


def test_catalogs_matched_by_position_fill_the_cells_of_their_keys(tmp_path, field_store):
    """Rows shuffled, NUMBERs that match nothing and positions moved by 0.1": matched by position,
    each row reaches the object its key names."""
    by_position = lcstore.create(tmp_path / "by-position.lcz", field_catalog("coadd"), epochs=FIELD_EPOCHS)
    rng = np.random.default_rng(4)
    for epoch in FIELD_EPOCHS:
        table = astropy_fits(field_catalog(f"epoch_{epoch}"))[rng.permutation(281)]
        table["NUMBER"] += 1_000_000
        offset = 0.1 / 3600 * rng.random(len(table))
        table["DELTA_J2000"] += offset
        report = by_position.populate(epoch, table, match="position")
        assert (report.objects_written, report.unmatched_rows_skipped, report.farther_rows_skipped) == (281, 0, 0)
        with pytest.raises(lcstore.BadInputError, match="not in the store"):
            by_position.populate(epoch, table)
    np.testing.assert_array_equal(
        by_position.lightcurves(by_position.objects), field_store.lightcurves(field_store.objects)
    )
    tight = by_position.populate(FIELD_EPOCHS[0], table, match="position:1e-6", force=True)
    assert tight.objects_written == 0 and tight.unmatched_rows_skipped == 281
    for wrong in ("nearest", "position:-1", "position:x"):
        with pytest.raises(lcstore.InvalidArgumentError, match="match"):
            by_position.populate(FIELD_EPOCHS[0], table, match=wrong)
