"""The xarray backend: ``xr.open_dataset(path, engine="lcstore")``.

Gives the Dataset ``xr.open_zarr(path)`` gives (the same variables,
coordinates and attributes), with the labels and positions from the engine's
tables and the light curves read lazily through the engine, by object, from
the read layout when it is current. ``chunks=`` makes them dask arrays
(``chunks={}``: the write layout's chunks).
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from . import store as _store

LIGHT_CURVES = "lightcurves"
READ_LAYOUT = "lightcurves_by_object"
# Attributes xarray's decoding moves into .encoding rather than .attrs.
_ENCODING_ATTRIBUTES = ("_FillValue", "coordinates")
# The dtype zarr-python reads string arrays as.
_STRINGS = np.dtypes.StringDType()


class LightCurveArray(BackendArray):
    """``lightcurves[object, measurement, value, epoch]`` of a store, read through the engine by object."""

    def __init__(self, store: _store.Store) -> None:
        self.store = store
        self.objects = store.objects
        self.shape = (len(self.objects), len(store.measurements), len(store.values), len(store.epochs))
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple) -> np.ndarray:
        if isinstance(key[3], (int, np.integer)):
            # One epoch (a .sel(epoch=...)): the engine reads that epoch's
            # cells, not every object's whole curve.
            slab = self.store._open().epoch(self.store.epochs[key[3]])
            return _outer(slab, key[:3])
        rows = np.arange(self.shape[0])[key[0]]
        curves = self.store.lightcurves([self.objects[row] for row in np.atleast_1d(rows)])
        if np.ndim(rows) == 0:
            return _outer(curves[0], key[1:])
        return _outer(curves, (slice(None), *key[1:]))


def _outer(array: np.ndarray, key: tuple) -> np.ndarray:
    """``array`` indexed by ``key`` outer-wise: each axis on its own, an integer dropping its axis."""
    axis = 0
    for selection in key:
        array = array[(slice(None),) * axis + (selection,)]
        axis += 0 if isinstance(selection, (int, np.integer)) else 1
    return array


def _consolidated(path: str) -> tuple[dict, dict[str, dict]]:
    """The root group's metadata and its consolidated array metadata by name."""
    with open(os.path.join(path, "zarr.json"), encoding="utf-8") as file:
        root = json.load(file)
    arrays = (root.get("consolidated_metadata") or {}).get("metadata") or {}
    return root, {name: node for name, node in arrays.items() if node.get("node_type") == "array"}


def _engine_data(store: _store.Store, name: str) -> Any:
    """The data of a label or position array as the engine holds it, or None."""
    labels = {"object": store.objects, "measurement": store.measurements, "value": store.values, "epoch": store.epochs}
    if name in labels:
        return np.array(labels[name], dtype=_STRINGS)
    positions = store.positions
    if name in positions:
        return positions[name]
    variables = store.epoch_variables
    if name.startswith("epoch_") and name.removeprefix("epoch_") in variables:
        cells = variables[name.removeprefix("epoch_")]
        return np.array(cells, dtype=_STRINGS) if isinstance(cells, list) else cells
    return None


def open_store_dataset(path: str, drop_variables: Iterable[str] | None = None) -> xr.Dataset:
    store = _store.open(path)
    root, arrays = _consolidated(path)
    dropped = set(drop_variables or ())
    variables: dict[str, xr.Variable] = {}
    coordinate_names: set[str] = set()
    for name, node in arrays.items():
        if name in dropped:
            continue
        attributes = dict(node.get("attributes") or {})
        coordinate_names.update((attributes.get("coordinates") or "").split())
        dims = tuple(node["dimension_names"])
        chunks = node["chunk_grid"]["configuration"]["chunk_shape"]
        encoding = {"preferred_chunks": dict(zip(dims, chunks))}
        if name == LIGHT_CURVES or (name == READ_LAYOUT and store.read_layout_current):
            data: Any = indexing.LazilyIndexedArray(LightCurveArray(store))
        else:
            # A stale read layout holds values from before the last populate,
            # which the engine no longer reads, and arrays the engine does not
            # hold (features, zero points added after create): zarr-python
            # reads those.
            data = None if name == READ_LAYOUT else _engine_data(store, name)
            if data is None:
                import zarr

                data = indexing.LazilyIndexedArray(_ZarrArray(zarr.open_array(os.path.join(path, name), mode="r")))
        for attribute in _ENCODING_ATTRIBUTES:
            attributes.pop(attribute, None)
        variables[name] = xr.Variable(dims, data, attributes, encoding)
    dimension_names = {dim for variable in variables.values() for dim in variable.dims}
    coordinates = [name for name in variables if name in coordinate_names or name in dimension_names]
    dataset = xr.Dataset(
        {name: variable for name, variable in variables.items() if name not in coordinates},
        coords={name: variables[name] for name in coordinates},
        attrs=dict(root.get("attributes") or {}),
    )
    dataset.set_close(store.close)
    return dataset


class _ZarrArray(BackendArray):
    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, lambda k: np.asarray(self.array.oindex[k])
        )


class LcstoreBackendEntrypoint(BackendEntrypoint):
    """Opens an lcstore (or xarray-written) light-curve store through the lcstore engine."""

    description = "Light-curve stores read through the lcstore C++ engine"
    open_dataset_parameters = ("filename_or_obj", "drop_variables")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Iterable[str] | None = None) -> xr.Dataset:
        return open_store_dataset(os.fspath(filename_or_obj), drop_variables)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        try:
            _, arrays = _consolidated(os.fspath(filename_or_obj))
        except (OSError, TypeError, ValueError):
            return False
        return LIGHT_CURVES in arrays
