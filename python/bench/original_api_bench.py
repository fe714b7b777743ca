"""The original's reads on a store the original wrote, against lcstore opening that same store.

A store written as the original pipeline wrote it (xarray ``to_zarr`` of the
Dataset: chunks of 1000 objects holding every epoch, no lcstore attributes) is
read four ways, each the original's method through xarray/zarr-python against
lcstore's engine on the same files, in a warm process:
  * 100 objects' light curves, one at a time: ``lightcurves.sel(object=k).values`` against
    ``lcstore.compat.LightcurveStorage.get_object_lightcurve(k)`` (the
    original's API), ``Store.lightcurve(k)`` (DataArray) and
    ``Store.lightcurves([k])`` (numpy);
  * one epoch of every object: ``lightcurves.sel(epoch=e).values`` against
    ``get_epoch_data(e)`` and ``Store.epoch(e)``;
  * every light curve as one DataArray: ``xr.open_zarr(p).lightcurves.values``
    against ``xr.open_dataset(p, engine="lcstore")`` and ``Store.lightcurves``;
  * a region: a mask over the ``ra`` and ``dec`` coordinates against
    ``get_objects_in_region`` and ``Store.region``.
Every line prints the original's median, lcstore's median and their ratio
(original / lcstore: above 1 means lcstore is faster).

    PYTHONPATH=build/python .venv/bin/python python/bench/original_api_bench.py \
        [--objects 20000 --measurements 10 --epochs 20 --repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import lcstore
from lcstore.compat import LightcurveStorage
from python_bench import median_seconds, report


def write_original_store(path: Path, objects: int, measurements: int, epochs: int) -> None:
    """The original's layout with data in every cell, written by xarray (strings as vlen-utf8, as the original's)."""

    def strings(labels: list[str]) -> np.ndarray:
        return np.array(labels, dtype=object)

    rng = np.random.default_rng(3)
    shape = (objects, measurements, 2, epochs)
    values = (15 + rng.standard_normal(shape)).astype(np.float32)
    values[rng.random(shape) < 0.05] = np.nan
    dataset = xr.Dataset(
        {"lightcurves": (("object", "measurement", "value", "epoch"), values, {"description": "IDF lightcurve data"})},
        coords={
            "object": strings([str(i) for i in range(1, objects + 1)]),
            "measurement": strings([f"m{m}" for m in range(measurements)]),
            "value": strings(["mag", "mag_err"]),
            "epoch": strings([f"r{58000000 + 256 * e}" for e in range(epochs)]),
            "ra": ("object", np.linspace(17.0, 17.5, objects)),
            "dec": ("object", np.linspace(65.0, 65.5, objects)),
            "x_image": ("object", rng.random(objects).astype(np.float32) * 2048),
            "y_image": ("object", rng.random(objects).astype(np.float32) * 2048),
            "epoch_mjd": ("epoch", 58000.5 + np.arange(epochs, dtype=np.float64)),
        },
    )
    chunks = (min(1000, objects), measurements, 2, epochs)
    dataset.to_zarr(path, mode="w", encoding={"lightcurves": {"chunks": chunks, "compressors": None}}, consolidated=True)


def main() -> None:
    # zarr-python warns about the string dtypes and consolidated metadata xarray writes.
    warnings.filterwarnings("ignore", module="zarr")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--measurements", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    repeats = arguments.repeats
    with tempfile.TemporaryDirectory(prefix="lcstore-original-bench-") as directory:
        storage_path = Path(directory)
        path = storage_path / "lightcurves.zarr"
        write_original_store(path, arguments.objects, arguments.measurements, arguments.epochs)
        print(f"== the original's reads of a store it wrote, {arguments.objects} x {arguments.measurements} x 2 x "
              f"{arguments.epochs} (ratio = original / lcstore)")
        original = xr.open_zarr(path)["lightcurves"]
        store = lcstore.open(path)
        compat = LightcurveStorage(storage_path)
        compat.load_storage()
        rng = np.random.default_rng(4)
        keys = [str(k) for k in rng.choice(np.arange(1, arguments.objects + 1), size=100, replace=False)]
        for warm in (lambda: original.sel(object=keys[0]).values, lambda: compat.get_object_lightcurve(keys[0])):
            warm()  # the indexes and metadata loaded
        for key in keys:
            assert np.array_equal(original.sel(object=key).values, store.lightcurves([key])[0], equal_nan=True)
        epoch = store.epochs[len(store.epochs) // 2]
        assert np.array_equal(original.sel(epoch=epoch).values, store.epoch(epoch).values, equal_nan=True)

        def one_at_a_time(read) -> float:
            return median_seconds(lambda: [read(key) for key in keys], repeats)

        baseline = one_at_a_time(lambda key: original.sel(object=key).values)
        for name, read in (
            ("compat get_object_lightcurve", compat.get_object_lightcurve),
            ("Store.lightcurve", store.lightcurve),
            ("Store.lightcurves([key])", lambda key: store.lightcurves([key])),
        ):
            report(f"{len(keys)} curves, {name}", "xarray .sel(object=)", baseline, one_at_a_time(read), "same store")

        baseline = median_seconds(lambda: original.sel(epoch=epoch).values, repeats)
        report("one epoch, compat get_epoch_data", "xarray .sel(epoch=)", baseline,
               median_seconds(lambda: compat.get_epoch_data(epoch), repeats), "same store")
        report("one epoch, Store.epoch", "xarray .sel(epoch=)", baseline,
               median_seconds(lambda: store.epoch(epoch), repeats), "same store")

        def engine_dataset() -> np.ndarray:
            with xr.open_dataset(path, engine="lcstore") as dataset:
                return dataset["lightcurves"].values

        def zarr_dataset() -> np.ndarray:
            with xr.open_zarr(path) as dataset:
                return dataset["lightcurves"].values

        assert np.array_equal(engine_dataset(), zarr_dataset(), equal_nan=True)
        baseline = median_seconds(zarr_dataset, repeats)
        report("every curve, open_dataset(engine=lcstore)", "xr.open_zarr .values", baseline,
               median_seconds(engine_dataset, repeats), "same store")
        report("every curve, Store.lightcurves(all)", "xr.open_zarr .values", baseline,
               median_seconds(lambda: store.lightcurves(store.objects), repeats), "same store")

        ra_range, dec_range = (17.1, 17.2), (65.1, 65.2)

        def original_region() -> list[str]:
            ra, dec = original["ra"].values, original["dec"].values
            inside = (ra >= ra_range[0]) & (ra <= ra_range[1]) & (dec >= dec_range[0]) & (dec <= dec_range[1])
            return original["object"].values[inside].tolist()

        assert compat.get_objects_in_region(ra_range, dec_range) == original_region()
        baseline = median_seconds(original_region, repeats)
        report("region, compat get_objects_in_region", "mask over ra, dec", baseline,
               median_seconds(lambda: compat.get_objects_in_region(ra_range, dec_range), repeats), "same store")
        report("region, Store.region", "mask over ra, dec", baseline,
               median_seconds(lambda: store.region(ra=ra_range, dec=dec_range), repeats), "same store")
        compat.close()
        store.close()


if __name__ == "__main__":
    main()
