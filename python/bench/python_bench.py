"""Benchmarks of the Python package; every ratio is of medians measured in this run.

1. The Python API's overhead against the same engine calls from C++
   (python_engine_baseline): populate from catalog files, and lightcurves()
   of 10,000 objects. Target: Python within 10% of C++ (ratio <= 1.10).
2. lcstore against the original's approach on zarr-python + xarray, at
   OBJECTS x MEASUREMENTS x 2 x EPOCHS: populating every epoch (v0: xarray
   .loc then the whole epoch slice written; v1: read-modify-write of the
   epoch slice; v2: one oindex scatter; the original one thread, lcstore one
   and 4 threads) and per-object reads in a warm process (xarray .sel on the
   open store against Store.lightcurve after rechunk). Targets: populate
   >= 10x, reads >= 20x.

    PYTHONPATH=build/python .venv/bin/python python/bench/python_bench.py \
        --baseline build/python/python_engine_baseline [--objects 50000 --measurements 40 --epochs 100]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from astropy.table import Table

import lcstore


def median_seconds(work, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def catalog(objects: int, measurements: int, epoch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    columns = {"NUMBER": np.arange(1, objects + 1, dtype=np.int64)}
    for m in range(measurements):
        columns[f"MAG_M{m}"] = (15 + rng.standard_normal(objects) * 0.1 + epoch * 1e-3).astype(np.float32)
        columns[f"MAGERR_M{m}"] = (0.01 + rng.random(objects) * 0.01).astype(np.float32)
    return columns


def objects_table(objects: int, measurements: int) -> dict[str, np.ndarray]:
    table = catalog(objects, measurements, 0, np.random.default_rng(0))
    table["ALPHA_J2000"] = np.linspace(17.0, 17.5, objects)
    table["DELTA_J2000"] = np.linspace(65.0, 65.5, objects)
    return table


def report(name: str, baseline_name: str, baseline: float, measured: float, target: str) -> None:
    print(f"{name:<44} {baseline_name:<22} {baseline:9.4f} s  {measured:9.4f} s  ratio {baseline / measured:7.2f}x  ({target})")


def overhead(work: Path, baseline: str, repeats: int) -> None:
    print("== Python API against the same engine calls from C++ (ratio = C++ / Python; target >= 0.91)")
    objects, measurements, epochs = 10_000, 4, 20
    rng = np.random.default_rng(1)
    keys = [f"e{e:03d}" for e in range(epochs)]
    paths = []
    for epoch, key in enumerate(keys):
        path = work / f"catalog_{key}.fits"
        Table(catalog(objects, measurements, epoch, rng)).write(path, format="fits")
        paths.append(str(path))
    store = lcstore.create(work / "overhead.lcz", objects_table(objects, measurements), keys)
    store.populate_many(paths, epochs=keys, threads=1)

    pairs = [f"{key}={path}" for key, path in zip(keys, paths)]
    cpp = float(subprocess.check_output([baseline, "populate", store.path, str(repeats), *pairs]))
    python = median_seconds(lambda: [store.populate(k, p, force=True) for k, p in zip(keys, paths)], repeats)
    report(f"populate {epochs} FITS catalogs of {objects} objects", "C++ engine", cpp, python, "target >= 0.91")

    names = store.objects[:objects]
    cpp = float(subprocess.check_output([baseline, "lightcurves", store.path, str(repeats * 4), str(objects)]))
    python = median_seconds(lambda: store.lightcurves(names), repeats * 4)
    report(f"lightcurves() of {objects} objects", "C++ engine", cpp, python, "target >= 0.91")


def original_store(path: Path, objects: int, measurements: list[str], epochs: list[str]) -> None:
    """The original's create_storage: xarray to_zarr, chunks of 1000 objects holding every epoch, uncompressed."""
    shape = (objects, len(measurements), 2, len(epochs))
    chunks = (min(1000, objects), len(measurements), 2, len(epochs))
    import dask.array as da

    dataset = xr.Dataset(
        {"lightcurves": (("object", "measurement", "value", "epoch"), da.full(shape, np.nan, np.float32, chunks=chunks))},
        coords={"object": [str(i) for i in range(1, objects + 1)], "measurement": measurements,
                "value": ["mag", "mag_err"], "epoch": epochs},
    )
    encoding = {"lightcurves": {"chunks": chunks, "compressors": None}}
    dataset.to_zarr(path, mode="w", encoding=encoding, compute=False, consolidated=True)


def original_populate(version: str, path: Path, lightcurves: xr.DataArray, epoch: int, table: dict) -> None:
    """The original's three populate versions on zarr-python, per epoch."""
    array = zarr.open_group(path, mode="r+")["lightcurves"]
    rows = table["NUMBER"] - 1
    n_measurements = lightcurves.sizes["measurement"]
    cells = np.stack(
        [np.stack([table[f"MAG_M{m}"], table[f"MAGERR_M{m}"]]) for m in range(n_measurements)]
    )  # (measurement, value, object)
    if version == "v0":
        loaded = lightcurves.isel(epoch=epoch).load()
        loaded.values[rows] = np.moveaxis(cells, -1, 0)
        array[:, :, :, epoch] = loaded.values
    elif version == "v1":
        slab = array[:, :, :, epoch]
        slab[rows] = np.moveaxis(cells, -1, 0)
        array[:, :, :, epoch] = slab
    else:
        array.oindex[rows, slice(None), slice(None), epoch] = np.moveaxis(cells, -1, 0)


def against_original(work: Path, objects: int, n_measurements: int, n_epochs: int, repeats: int) -> None:
    print(f"== lcstore against the original's approach at {objects} x {n_measurements} x 2 x {n_epochs}"
          " (ratio = original / lcstore)")
    rng = np.random.default_rng(2)
    measurements = [f"m{m}" for m in range(n_measurements)]
    epochs = [f"e{e:03d}" for e in range(n_epochs)]
    tables = [catalog(objects, n_measurements, e, rng) for e in range(n_epochs)]
    original_path = work / "original.zarr"
    for version in ("v0", "v1", "v2"):
        def run_original() -> None:
            original_store(original_path, objects, measurements, epochs)
            lightcurves = xr.open_zarr(original_path)["lightcurves"]
            for epoch, table in enumerate(tables):
                original_populate(version, original_path, lightcurves, epoch, table)

        def run_lcstore(threads: int) -> None:
            path = work / "lcstore.lcz"
            shutil.rmtree(path, ignore_errors=True)
            store = lcstore.create(path, objects_table(objects, n_measurements), epochs, measurements=measurements)
            store.populate_many(tables, epochs=epochs, threads=threads, strategy=version)

        original = median_seconds(run_original, repeats)
        one = median_seconds(lambda: run_lcstore(1), repeats)
        four = median_seconds(lambda: run_lcstore(4), repeats)
        report(f"populate {n_epochs} epochs, {version}, lcstore 1 thread", f"original {version}, 1 thread", original, one, "target >= 10")
        report(f"populate {n_epochs} epochs, {version}, lcstore 4 threads", f"original {version}, 1 thread", original, four, "target >= 10")

    # The stores as each system reads them: the original's as populated, lcstore's after rechunk.
    store = lcstore.open(work / "lcstore.lcz", "r+")
    store.rechunk()
    opened = xr.open_zarr(original_path)["lightcurves"]
    keys = [str(k) for k in rng.choice(np.arange(1, objects + 1), size=200, replace=False)]
    opened.sel(object=keys[0]).values  # warm: the index and metadata loaded
    store.lightcurve(keys[0])

    def per_read(read) -> float:
        return median_seconds(lambda: [read(key) for key in keys], repeats) / len(keys)

    original = per_read(lambda key: opened.sel(object=key).values)
    as_dataarray = per_read(lambda key: store.lightcurve(key))
    as_numpy = per_read(lambda key: store.lightcurves([key]))
    report("one object, Store.lightcurve (DataArray)", "original xarray .sel", original, as_dataarray, "target >= 20")
    report("one object, Store.lightcurves([key]) (numpy)", "original xarray .sel", original, as_numpy, "target >= 20")


def main() -> None:
    # zarr-python warns about the string dtypes and consolidated metadata xarray writes.
    warnings.filterwarnings("ignore", module="zarr")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the python_engine_baseline program")
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lcstore-python-bench-") as directory:
        work = Path(directory)
        overhead(work, arguments.baseline, arguments.repeats)
        against_original(work, arguments.objects, arguments.measurements, arguments.epochs, arguments.repeats)


if __name__ == "__main__":
    main()
