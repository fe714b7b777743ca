"""lcstore: astronomical light curves in one Zarr v3 array, built by a C++ engine.

    import lcstore
    store = lcstore.create("field.lcz", "coadd.cat", epochs=["r1", "r2"])
    store.populate("r1", "r1.cat")
    store.lightcurve("17")            # xarray.DataArray (measurement, value, epoch)
    store.lightcurves(["17", "18"])   # numpy [object, measurement, value, epoch]

The store is ``lightcurves[object, measurement, value, epoch]`` (float32,
NaN = missing) laid out as xarray writes a Dataset, so ``xr.open_zarr`` and
zarr-python open it as it is, and ``xr.open_dataset(path, engine="lcstore")``
reads it through the engine. Populating from many threads and processes at
once loses nothing. ``lcstore.compat`` has the original package's API.
See python/README.md.
"""

from .errors import (
    BadInputError,
    ClosedStoreError,
    CorruptDataError,
    Error,
    InvalidArgumentError,
    InvalidMetadataError,
    NotFoundError,
    ReadOnlyError,
    StorageIOError,
    UnsupportedError,
)
from ._tables import read_catalog
from .store import FeatureRunReport, Matches, PopulateReport, Store, create, feature_names, open

__all__ = [
    "BadInputError",
    "ClosedStoreError",
    "CorruptDataError",
    "Error",
    "FeatureRunReport",
    "InvalidArgumentError",
    "InvalidMetadataError",
    "Matches",
    "NotFoundError",
    "PopulateReport",
    "ReadOnlyError",
    "StorageIOError",
    "Store",
    "UnsupportedError",
    "create",
    "feature_names",
    "open",
    "read_catalog",
]
