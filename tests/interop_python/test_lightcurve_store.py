"""A light-curve store built by the lcstore commands from the real
SExtractor fixtures: xarray (with the newest zarr-python, and with zarrs'
pipeline) and TensorStore read both layouts exactly as lcstore does."""

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from peers import CLI, Lcstore, TensorStore, run_lcstore, same_content

FIXTURES = Path(os.environ.get("LCSTORE_FIXTURES", Path(__file__).resolve().parents[3] / "shared" / "fixtures"))
FIELD = FIXTURES / "sextractor-field-a"
LAYOUTS = ["lightcurves", "lightcurves_by_object"]

pytestmark = pytest.mark.skipif(zarr.__version__ == "3.0.6", reason="the newest zarr-python's test")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("field") / "field.lcs"
    # Epoch 004 has no catalog: its cells stay NaN.
    run_lcstore(CLI, "create", path, "--objects", FIELD / "coadd.fits_ldac.cat", "--epochs", "000,001,002,003,004")
    catalogs = sorted(FIELD.glob("epoch_*.fits_ldac.cat"))
    run_lcstore(CLI, "populate", path, "--epoch-from-name", r"epoch_(\d+)", *catalogs, "-q")
    run_lcstore(CLI, "rechunk", path, "--object-chunk", "64", "-q")
    return path


@pytest.mark.parametrize("pipeline", [None, "zarrs.ZarrsCodecPipeline"], ids=["zarr-python", "zarrs"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_xarray_reads_what_lcstore_reads(store, layout, pipeline):
    expected = Lcstore().read(store, layout)
    # Not strict: zarrs has no string data type, so the string coordinates
    # fall back to zarr-python's pipeline; the float32 arrays go through zarrs.
    settings = {"codec_pipeline.path": pipeline} if pipeline else {}
    with zarr.config.set(settings):
        dataset = xr.open_zarr(store, consolidated=True)
        values = dataset[layout].values
    assert np.isnan(expected).any() and not np.isnan(expected).all()
    assert same_content(values, expected)
    assert dataset[layout].dims[0] == "object"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tensorstore_reads_what_lcstore_reads(store, layout):
    expected = Lcstore().read(store, layout)
    assert same_content(TensorStore().read(store, layout), expected)
