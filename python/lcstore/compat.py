"""The original package's API on lcstore: switch by changing the import.

    from lcstore.compat import LightcurveStorage, SourceCatalog

``SourceCatalog`` wraps an astropy ``Table``; ``LightcurveStorage`` keeps its
Zarr group at ``storage_path / "lightcurves.zarr"`` in the original's layout.
The three populate versions keep their names and results (the number of
values written) but all write through the engine, so running them at once
from many threads or processes on the same store, the pattern the original's
concurrency report calls unsafe, loses nothing.

Behaviour kept from the original: objects are ordered on a 20 x 20 RA/Dec
grid when ``enable_spatial_chunking`` (the default; ties keep catalog order);
a populate writes only the catalog rows whose every requested measurement is
valid (finite, 0 < mag < 50, 0 < mag_err < 10); ``populate_epoch_from_catalog``
is v0. Measurement keys are matched lower-cased.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import store as _store
from .errors import BadInputError, NotFoundError

__all__ = ["LightcurveStorage", "SourceCatalog", "StorageNotFoundError"]

_POSITIONS = {"ra": ("ALPHA_J2000", "ra"), "dec": ("DELTA_J2000", "dec"), "x": ("X_IMAGE", "x"), "y": ("Y_IMAGE", "y")}
_MAGNITUDE = re.compile(r"^mag_(?P<measurement>.+)$", re.IGNORECASE)


class StorageNotFoundError(NotFoundError, RuntimeError):
    """No storage at the path: the original raised RuntimeError."""


class SourceCatalog:
    """A SExtractor catalog table: object keys, positions and ``mag_<m>``/``magerr_<m>`` measurements."""

    value_keys = ["mag", "mag_err"]

    def __init__(self, table: Any) -> None:
        self._table = table
        names = {name.lower(): name for name in table.colnames}
        key = names.get("id") or names.get("number")
        if key is None:
            raise BadInputError(
                str(getattr(table, "meta", {}).get("filepath", "<Table>")), "has no object key column 'id' or 'NUMBER'"
            )
        self._key_column = key
        self._positions = {}
        for position, candidates in _POSITIONS.items():
            column = next((names[c.lower()] for c in candidates if c.lower() in names), None)
            self._positions[position] = column
        self._measurements: dict[str, tuple[str, str]] = {}
        for name in table.colnames:
            match = _MAGNITUDE.match(name)
            error = match and names.get(f"magerr_{match['measurement'].lower()}")
            if match and error:
                self._measurements[match["measurement"].lower()] = (name, error)

    @property
    def table(self) -> Any:
        """The wrapped astropy Table."""
        return self._table

    @property
    def object_keys(self) -> np.ndarray:
        """The object keys as strings."""
        return np.asarray([str(key) for key in np.asarray(self._table[self._key_column]).tolist()])

    @property
    def measurement_keys(self) -> list[str]:
        """The measurements with both a ``mag_<m>`` and a ``magerr_<m>`` column, lower-cased."""
        return list(self._measurements)

    @property
    def epoch_keys(self) -> list[str]:
        """The epochs the table's metadata names (``meta["epoch_keys"]``), else none."""
        return list(getattr(self._table, "meta", {}).get("epoch_keys", []))

    def _position(self, position: str) -> np.ndarray:
        column = self._positions[position]
        if column is None:
            return np.full(len(self), np.nan)
        return np.asarray(self._table[column], dtype=np.float64)

    @property
    def ra_values(self) -> np.ndarray:
        return self._position("ra")

    @property
    def dec_values(self) -> np.ndarray:
        return self._position("dec")

    @property
    def x_values(self) -> np.ndarray:
        return self._position("x")

    @property
    def y_values(self) -> np.ndarray:
        return self._position("y")

    def extract_measurements(self, measurement_keys: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
        """``{measurement: {"mag": array, "mag_err": array}}`` for the keys the catalog has."""
        found = {}
        for key in measurement_keys:
            columns = self._measurements.get(str(key).lower())
            if columns is not None:
                found[str(key).lower()] = {
                    value: np.asarray(self._table[column], dtype=np.float32)
                    for value, column in zip(self.value_keys, columns)
                }
        return found

    def get_valid_measurement_mask(self, measurement_keys: Sequence[str]) -> np.ndarray:
        """Rows whose every measurement is finite with 0 < mag < 50 and 0 < mag_err < 10."""
        measurements = self.extract_measurements(measurement_keys)
        valid = np.full(len(self), bool(measurements))
        for values in measurements.values():
            mag, error = values["mag"], values["mag_err"]
            valid &= np.isfinite(mag) & (mag > 0) & (mag < 50) & np.isfinite(error) & (error > 0) & (error < 10)
        return valid

    def get_spatially_ordered_keys(self, grid_divisions: int = 20) -> np.ndarray:
        """Object keys ordered by their cell of a ``grid_divisions``-square RA/Dec grid (no position: last)."""
        ra, dec = self.ra_values, self.dec_values
        finite = np.isfinite(ra) & np.isfinite(dec)
        if not finite.any():
            return self.object_keys

        def bins(values: np.ndarray) -> np.ndarray:
            low, high = values[finite].min(), values[finite].max()
            if high == low:
                return np.zeros(len(values), dtype=np.int64)
            scaled = np.nan_to_num((values - low) / (high - low + 1e-10) * grid_divisions)
            return np.minimum(scaled.astype(np.int64), grid_divisions - 1)

        cells = np.where(finite, bins(ra) * grid_divisions + bins(dec), np.iinfo(np.int64).max)
        return self.object_keys[np.argsort(cells, kind="stable")]

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"SourceCatalog(n_objs={len(self)}, n_meas={len(self._measurements)})"


class LightcurveStorage:
    """The original's storage: ``lightcurves[object, measurement, value, epoch]`` at ``storage_path/lightcurves.zarr``."""

    def __init__(self, storage_path: Any, enable_spatial_chunking: bool = True, chunk_size: int = 1000) -> None:
        self.storage_path = Path(storage_path)
        self.enable_spatial_chunking = enable_spatial_chunking
        self.chunk_size = chunk_size
        self.lightcurves = None
        self._store: _store.Store | None = None

    @property
    def zarr_path(self) -> Path:
        return self.storage_path / "lightcurves.zarr"

    # ---- creating and loading ---------------------------------------------

    def create_storage(
        self,
        source_catalog: SourceCatalog,
        epoch_keys: Sequence[str],
        measurement_keys: Sequence[str] | None = None,
        value_keys: Sequence[str] = ("mag", "mag_err"),
    ) -> None:
        """Creates the store for the catalog's objects and ``epoch_keys``, every value NaN."""
        order = (
            source_catalog.get_spatially_ordered_keys()
            if self.enable_spatial_chunking
            else source_catalog.object_keys
        )
        rows = {key: row for row, key in enumerate(source_catalog.object_keys)}
        at = np.array([rows[key] for key in order], dtype=np.intp)
        objects = {
            "id": list(order),
            "ra": source_catalog.ra_values[at],
            "dec": source_catalog.dec_values[at],
            "x": source_catalog.x_values[at],
            "y": source_catalog.y_values[at],
        }
        measurements = source_catalog.measurement_keys if measurement_keys is None else list(measurement_keys)
        self.storage_path.mkdir(parents=True, exist_ok=True)
        self._store = _store.create(
            self.zarr_path,
            objects,
            [str(key) for key in epoch_keys],
            measurements=[str(key).lower() for key in measurements],
            values=tuple(value_keys),
            object_chunk=min(self.chunk_size, max(1, len(order))),
            description="IDF lightcurve data",
        )
        self._load_lightcurves()

    def load_storage(self, consolidated: bool = True):
        """Opens the existing store and returns ``lightcurves``; raises StorageNotFoundError if there is none."""
        if not self.zarr_path.exists():
            raise StorageNotFoundError(str(self.zarr_path), "Storage not found. Call create_storage() first.")
        self._store = _store.open(self.zarr_path, "r+")
        return self._load_lightcurves()

    def _load_lightcurves(self):
        from .xarray_backend import open_store_dataset

        self.lightcurves = open_store_dataset(str(self.zarr_path))["lightcurves"]
        return self.lightcurves

    def _opened(self) -> _store.Store:
        if self._store is None:
            self.load_storage()
        return self._store

    # ---- populating -------------------------------------------------------

    def _populate(self, strategy: str, epoch_key: str, source_catalog: SourceCatalog, measurement_keys) -> int:
        measurements = source_catalog.extract_measurements(list(measurement_keys))
        valid = source_catalog.get_valid_measurement_mask(list(measurement_keys))
        if not valid.any():
            return 0
        table: dict[str, Any] = {"id": list(source_catalog.object_keys[valid])}
        for name, values in measurements.items():
            table[f"MAG_{name}"] = values["mag"][valid]
            table[f"MAGERR_{name}"] = values["mag_err"][valid]
        report = self._opened().populate(str(epoch_key), table, strategy, skip_incomplete=True)
        return report.values_written

    def populate_epoch_from_catalog_v0(self, epoch_key: str, source_catalog: SourceCatalog, measurement_keys) -> int:
        """v0: the epoch's cells staged in memory, committed as one masked write. Returns the values written."""
        return self._populate("v0", epoch_key, source_catalog, measurement_keys)

    def populate_epoch_from_catalog_v1(self, epoch_key: str, source_catalog: SourceCatalog, measurement_keys) -> int:
        """v1: read-modify-write of the epoch's slab, under the chunks' locks. Returns the values written."""
        return self._populate("v1", epoch_key, source_catalog, measurement_keys)

    def populate_epoch_from_catalog_v2(self, epoch_key: str, source_catalog: SourceCatalog, measurement_keys) -> int:
        """v2: one orthogonal scatter of the catalog's cells. Returns the values written."""
        return self._populate("v2", epoch_key, source_catalog, measurement_keys)

    populate_epoch_from_catalog = populate_epoch_from_catalog_v0

    # ---- reading ----------------------------------------------------------

    def get_object_lightcurve(self, object_key: str, measurement_key: str | None = None, value_key: str | None = None):
        """``lightcurves.sel(object=object_key[, measurement=..., value=...])``, loaded."""
        self._opened()
        selection = {"object": object_key, "measurement": measurement_key, "value": value_key}
        return self.lightcurves.sel({k: v for k, v in selection.items() if v is not None}).load()

    def get_epoch_data(self, epoch_key: str, measurement_key: str | None = None, value_key: str | None = None):
        """``lightcurves.sel(epoch=epoch_key[, measurement=..., value=...])``, loaded."""
        self._opened()
        selection = {"epoch": epoch_key, "measurement": measurement_key, "value": value_key}
        return self.lightcurves.sel({k: v for k, v in selection.items() if v is not None}).load()

    def get_objects_in_region(self, ra_range: tuple, dec_range: tuple) -> list[str]:
        """Keys of the objects within the RA and Dec ranges (degrees), in store order."""
        found = self._opened().region(ra=ra_range, dec=dec_range)
        order = np.argsort(found.rows, kind="stable")
        return found.objects[order].tolist()

    def get_storage_info(self) -> dict[str, Any]:
        """The original's summary: status, shape by dimension, keys and coordinate ranges."""
        try:
            store = self._opened()
        except StorageNotFoundError:
            return {"status": "not_created", "storage_path": str(self.storage_path)}
        info = store.info()
        lightcurves = self.lightcurves
        summary = {
            "status": "ready",
            "storage_path": str(self.storage_path),
            "data_shape": dict(lightcurves.sizes),
            "dimensions": list(lightcurves.dims),
            "coordinates": list(lightcurves.coords.keys()),
            "measurement_keys": store.measurements,
            "value_keys": store.values,
            "n_epochs": len(store.epochs),
            "n_measurements": len(store.measurements),
            "n_objects": len(store.objects),
            "created": info.get("created", "unknown"),
            "description": info.get("description", ""),
            "data_type": str(lightcurves.dtype),
        }
        for name in ("ra", "dec"):
            cells = store.positions[name]
            finite = cells[np.isfinite(cells)]
            if len(finite):
                summary[f"{name}_range"] = [float(finite.min()), float(finite.max())]
        return summary

    # ---- the later names of the same operations ----------------------------

    def create_for_per_epoch_write(self, source_catalog: SourceCatalog, epoch_keys: Sequence[str], *args, **kwargs) -> None:
        """Same as :meth:`create_storage`."""
        self.create_storage(source_catalog, epoch_keys, *args, **kwargs)

    def load_for_per_epoch_write(self):
        """Same as ``load_storage(consolidated=False)``."""
        return self.load_storage(consolidated=False)

    def populate_epoch(self, source_catalog: SourceCatalog, epoch_key: str) -> int:
        """Populates every measurement of the catalog into ``epoch_key``."""
        return self.populate_epoch_from_catalog(epoch_key, source_catalog, source_catalog.measurement_keys)

    def rechunk_for_per_object_read(self, chunk_size: int = 256) -> None:
        """Builds the per-object read layout with ``chunk_size`` objects per shard."""
        self._opened().rechunk(object_chunk=chunk_size)

    def load_for_per_object_read(self):
        """Same as :meth:`load_storage`."""
        return self.load_storage()

    def close(self) -> None:
        """Closes the store."""
        if self._store is not None:
            self._store.close()
        if self.lightcurves is not None:
            self.lightcurves.close()
        self._store = None
        self.lightcurves = None
