"""Store.compute_features / Store.features against the command line's ``features`` on the same store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lcstore

OBJECTS, EPOCHS = 300, 30


def command_line() -> str:
    """The lcstore program of the build tree the package was imported from (or $LCSTORE_CLI)."""
    program = os.environ.get("LCSTORE_CLI") or str(Path(os.path.abspath(lcstore.__file__)).parents[2] / "lcstore")
    if not os.access(program, os.X_OK):
        pytest.fail(f"no lcstore program at {program}: build the lcstore_cli target or set LCSTORE_CLI")
    return program


def run(*arguments: str) -> str:
    return subprocess.run([command_line(), *arguments], check=True, capture_output=True, text=True).stdout


def variable_store(path: Path) -> lcstore.Store:
    """OBJECTS objects over EPOCHS irregular epochs: a third sinusoidal, a few epochs missing, one object never seen."""
    rng = np.random.default_rng(7)
    mjd = np.sort(60000 + rng.uniform(0, 90, EPOCHS))
    index = np.arange(OBJECTS)
    objects = {"id": index, "ra": 150 + index * 1e-3, "dec": 2 + index * 1e-3, "x": index * 1.0, "y": index * 2.0}
    epochs = {"epoch": [f"e{k:02d}" for k in range(EPOCHS)], "mjd": mjd}
    store = lcstore.create(path, objects, epochs, measurements=["auto", "iso"])
    base = 16 + 4 * rng.random(OBJECTS)
    amplitude = np.where(index % 3 == 0, 0.3 + rng.random(OBJECTS), 0.0)
    period = 0.7 + 5 * rng.random(OBJECTS)
    for epoch, time in enumerate(mjd):
        seen = (rng.random(OBJECTS) > 0.1) & (index != 5)
        error = 0.01 + 0.02 * rng.random(OBJECTS)
        mag = base + amplitude * np.sin(2 * np.pi * time / period) + error * rng.standard_normal(OBJECTS)
        catalog = {"id": index[seen]}
        for offset, name in enumerate(("auto", "iso")):
            catalog[f"MAG_{name}"] = (mag + 0.1 * offset)[seen].astype(np.float32)
            catalog[f"MAGERR_{name}"] = error[seen].astype(np.float32)
        store.populate(f"e{epoch:02d}", catalog)
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> tuple[Path, Path]:
    """Two identical stores: the command line computes one's features, the package the other's."""
    directory = tmp_path_factory.mktemp("features")
    variable_store(directory / "cli").close()
    shutil.copytree(directory / "cli", directory / "python")
    run("features", str(directory / "cli"), "-q", "-j", "2")
    return directory / "cli", directory / "python"


@pytest.fixture(scope="module")
def calibrated_store(stores) -> Path:
    """A copy of the command line's store, calibrated, with its calibrated features of auto computed by the command."""
    path = stores[0].parent / "calibrated"
    shutil.copytree(stores[0], path)
    run("calibrate", str(path), "--measurement", "auto")
    run("features", str(path), "--measurement", "auto", "--calibrated", "-q", "-j", "2", "--min-period", "0.5")
    return path


def cli_features(path: Path, measurement: str) -> pd.DataFrame:
    """``lcstore objects --format json`` with every feature, as a frame indexed by object."""
    records = json.loads(
        run("objects", str(path), "--measurement", measurement, "--columns", ",".join(lcstore.feature_names()),
            "--format", "json")
    )
    frame = pd.DataFrame.from_records(records).set_index("object")
    return frame[lcstore.feature_names()].astype(np.float64)


def test_features_equal_the_command_lines(stores):
    cli, python = stores
    with lcstore.open(python, "r+") as store:
        report = store.compute_features(threads=2)
        assert report.curves == 2 * OBJECTS and report.frequencies > 100
        assert report.min_period < report.max_period
        assert store.feature_status() == {m: {"status": "current", "calibrated": False} for m in ("auto", "iso")}
        computed = store.features()
    with lcstore.open(cli) as store:
        stored = store.features()
    assert computed.dims == ("object", "measurement", "feature")
    assert computed.feature.values.tolist() == lcstore.feature_names()
    np.testing.assert_array_equal(computed.values, stored.values)
    for measurement in ("auto", "iso"):
        frame = computed.sel(measurement=measurement).drop_vars(["ra", "dec", "measurement"]).to_pandas()
        expected = cli_features(cli, measurement)
        assert frame.index.tolist() == expected.index.tolist() == [str(row) for row in range(OBJECTS)]
        pd.testing.assert_frame_equal(frame, expected, check_names=False, check_exact=True)


def test_calibrated_features_equal_the_command_lines(calibrated_store, tmp_path):
    shutil.copytree(calibrated_store, tmp_path / "s")
    with lcstore.open(tmp_path / "s", "r+") as store:
        store.compute_features(["auto"], calibrated=True, min_period=0.5, threads=1)
        assert store.feature_status()["auto"] == {"status": "current", "calibrated": True}
        computed = store.features("auto")
    with lcstore.open(calibrated_store) as store:
        stored = store.features("auto")
    np.testing.assert_array_equal(computed.values, stored.values)
    expected = cli_features(calibrated_store, "auto")
    np.testing.assert_array_equal(computed.values, expected.to_numpy())
    with lcstore.open(tmp_path / "s", "r+") as store:
        store.compute_features(["auto"], min_period=0.5, threads=1)
        uncalibrated = store.features("auto")
    assert not np.array_equal(uncalibrated.values, stored.values, equal_nan=True)


def test_features_of_one_measurement_are_a_frame_indexed_by_object(stores):
    with lcstore.open(stores[0]) as store:
        features = store.features("iso")
        frame = features.to_pandas()
    assert features.dims == ("object", "feature")
    assert isinstance(frame, pd.DataFrame) and frame.index.name == "object"
    assert frame.loc["5", "n_good"] == 0 and np.isnan(frame.loc["5", "weighted_mean"])
    assert (frame["n_good"].drop("5") > 20).all()
    assert float(features.sel(object="12").ra) == pytest.approx(150.012)
    # The variables (every third object) have far larger chi2 than the constant stars.
    chi2 = frame["chi2_reduced"].drop("5").to_numpy()
    variable = np.arange(OBJECTS)[np.arange(OBJECTS) != 5] % 3 == 0
    assert np.median(chi2[variable]) > 100 * np.median(chi2[~variable])


def test_features_go_stale_after_a_populate(tmp_path):
    with variable_store(tmp_path / "s") as store:
        store.compute_features(["auto"], threads=1)
        assert store.feature_status()["auto"]["status"] == "current"
        assert store.feature_status()["iso"]["status"] == "absent"
        assert store.features().measurement.values.tolist() == ["auto"]
        store.populate("e00", {"id": [1], "MAG_AUTO": np.float32([10]), "MAGERR_AUTO": np.float32([0.1])})
        assert store.feature_status()["auto"]["status"] == "stale"


def test_bad_requests_raise_and_write_nothing(stores, tmp_path):
    cli, _ = stores
    with lcstore.open(cli) as store:
        with pytest.raises(lcstore.ReadOnlyError):
            store.compute_features()
    shutil.copytree(cli, tmp_path / "s")
    before = sorted(str(path) for path in (tmp_path / "s").rglob("*"))
    with lcstore.open(tmp_path / "s", "r+") as store:
        with pytest.raises(lcstore.NotFoundError, match="nosuch"):
            store.compute_features(["nosuch"])
        with pytest.raises(lcstore.NotFoundError, match="epoch_exptime"):
            store.compute_features(time="exptime")
        with pytest.raises(lcstore.InvalidArgumentError, match="min_period"):
            store.compute_features(min_period=-1)
        with pytest.raises(lcstore.NotFoundError, match="nosuch"):
            store.features("nosuch")
    assert sorted(str(path) for path in (tmp_path / "s").rglob("*")) == before


def test_features_before_any_are_computed_is_not_found(tmp_path):
    with variable_store(tmp_path / "s") as store:
        with pytest.raises(lcstore.NotFoundError, match="compute_features"):
            store.features()
        with pytest.raises(lcstore.NotFoundError, match="no features computed"):
            store.features("auto")


def test_dask_features_in_object_blocks_equal_the_command_lines(stores, calibrated_store):
    from distributed import Client, LocalCluster

    import lcstore.dask

    cli, _ = stores
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            computed = lcstore.dask.features(cli, client, block_objects=64)
            calibrated = lcstore.dask.features(
                calibrated_store, client, ["auto"], calibrated=True, min_period=0.5, block_objects=100
            )
            with pytest.raises(lcstore.NotFoundError, match="nosuch"):
                lcstore.dask.features(cli, client, ["nosuch"])
    with lcstore.open(cli) as store:
        stored = store.features()
    assert computed.dims == stored.dims
    assert computed.object.values.tolist() == stored.object.values.tolist()
    np.testing.assert_array_equal(computed.values, stored.values)
    np.testing.assert_array_equal(computed.ra.values, stored.ra.values)
    with lcstore.open(calibrated_store) as store:
        np.testing.assert_array_equal(calibrated.sel(measurement="auto").values, store.features("auto").values)
