"""Shared fixtures of the Python package's tests.

The tests import the lcstore package found on sys.path: the build tree's
(PYTHONPATH=build/python, as `make test` runs them) or an installed wheel.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("LCSTORE_FIXTURES", REPOSITORY.parent / "shared" / "fixtures"))
FIELD = FIXTURES / "sextractor-field-a"
XARRAY_STORE = FIXTURES / "zarr-python-3.0.6" / "xarray_lightcurves.zarr"
FIELD_EPOCHS = ["000", "001", "002", "003"]


def field_catalog(name: str, file_format: str = "fits_1_0") -> Path:
    """A catalog of the SExtractor fixture field: name "coadd" or "epoch_001"."""
    suffix = ".ecsv" if file_format == "ecsv" else f".{file_format}.cat"
    return FIELD / f"{name}{suffix}"


def synthetic_catalog(objects: int, epoch: int, rows: slice | None = None, measurements=("auto", "iso")) -> dict:
    """A catalog of `objects` objects keyed by id "0".."n-1", values unique per (object, epoch)."""
    index = np.arange(objects)[rows if rows is not None else slice(None)]
    columns = {
        "id": index.astype(np.int64),
        "ra": 10.0 + index * 1e-3,
        "dec": -5.0 + index * 1e-3,
        "x": (index % 100).astype(np.float32),
        "y": (index // 100).astype(np.float32),
    }
    for number, measurement in enumerate(measurements):
        columns[f"mag_{measurement}"] = (10 + index * 1e-3 + epoch + number * 0.25).astype(np.float32)
        columns[f"magerr_{measurement}"] = (0.01 + index * 1e-6 + epoch * 1e-3 + number * 1e-4).astype(np.float32)
    return columns


@pytest.fixture(scope="session")
def field_fixtures() -> Path:
    if not FIELD.is_dir():
        pytest.fail(f"the shared fixtures are missing: {FIELD} (set LCSTORE_FIXTURES)")
    return FIELD
