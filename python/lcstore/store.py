"""Light-curve stores: create, open, populate and query them."""

from __future__ import annotations

import json
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import _lcstore, _tables
from ._tables import PathLike
from .errors import BadInputError, ClosedStoreError, Error, InvalidArgumentError, NotFoundError, ReadOnlyError

# The original's names, then the engine's names for the same strategies.
STRATEGIES = ("v0", "v1", "v2", "masked_slab", "read_modify_write", "scatter")


@dataclass(frozen=True)
class PopulateReport:
    """What one populate did.

    ``already_done`` is true when the journal shows the same catalog was
    populated into this epoch before and no populate touched its cells since,
    so nothing was written. ``finite_cells_overwritten`` counts the cells
    that held a finite value and were given another. ``format`` is
    the catalog file's format, empty for an in-memory catalog.
    """

    epoch: str
    catalog: str
    already_done: bool
    values_written: int
    objects_written: int
    finite_cells_overwritten: int
    unknown_objects_skipped: int
    unmatched_rows_skipped: int = 0
    farther_rows_skipped: int = 0
    objects_added: int = 0
    incomplete_measurements_skipped: list[str] = field(default_factory=list)
    measurements_ignored: list[str] = field(default_factory=list)
    format: str = ""


def _match_radius(match: str) -> float | None:
    """The radius in arcseconds of ``match="position[:RADIUS]"``; None for ``"key"``."""
    if match == "key":
        return None
    if match == "position":
        return 1.0
    if isinstance(match, str) and match.startswith("position:"):
        try:
            radius = float(match[len("position:"):])
        except ValueError:
            radius = math.nan
        if radius > 0 and math.isfinite(radius):
            return radius
        raise InvalidArgumentError("match", f"{match!r} does not give a positive radius in arcseconds")
    raise InvalidArgumentError("match", f"is {match!r}; give key, position or position:RADIUS")


@dataclass(frozen=True)
class Matches:
    """Objects found by a region or cone search, nearest first for a cone."""

    objects: np.ndarray  # object keys (str)
    rows: np.ndarray  # their rows in the store (uint64)
    separation_arcsec: np.ndarray  # distance from the cone's centre; 0 for a region

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class FeatureRunReport:
    """What one :meth:`Store.compute_features` did.

    ``curves`` is the number of (object, measurement) light curves computed;
    the periodogram's grid has ``frequencies`` frequencies from
    ``min_frequency`` in steps of ``frequency_step`` (cycles per time unit),
    so it searched periods from ``min_period`` to ``max_period``.
    """

    curves: int
    frequencies: int
    min_frequency: float
    frequency_step: float

    @property
    def max_period(self) -> float:
        return 1.0 / self.min_frequency

    @property
    def min_period(self) -> float:
        return 1.0 / (self.min_frequency + (self.frequencies - 1) * self.frequency_step)


def feature_names() -> list[str]:
    """The variability features, in the order of the ``feature`` coordinate (``"n_good"``, ...)."""
    return list(_lcstore.feature_names())


def _epoch_table(epochs: Any) -> tuple[list[str], list[tuple[str, Any]]]:
    """Epoch keys and variables from a sequence of keys or a table of them."""
    if isinstance(epochs, str) or epochs is None:
        raise InvalidArgumentError("epochs", "give a sequence of epoch keys or a table with an 'epoch' or 'key' column")
    if isinstance(epochs, Mapping) or hasattr(epochs, "colnames") or hasattr(epochs, "to_numpy"):
        columns = dict(_tables._columns(epochs))
        key_column = next((name for name in ("epoch", "key") if name in columns), None)
        if key_column is None:
            raise InvalidArgumentError("epochs", f"has no 'epoch' or 'key' column among {sorted(columns)}")
        keys = [str(key) for key in np.asarray(columns.pop(key_column)).tolist()]
        variables = []
        for name, cells in columns.items():
            array = np.asarray(cells)
            numeric = array.dtype.kind in "iuf"
            values = array.astype(np.float64).tolist() if numeric else [str(cell) for cell in array.tolist()]
            variables.append((name.removeprefix("epoch_"), values))
        return keys, variables
    return [str(key) for key in epochs], []


def create(
    path: PathLike,
    objects: Any,
    epochs: Any,
    measurements: Sequence[str] | None = None,
    values: Sequence[str] = ("mag", "mag_err"),
    *,
    object_chunk: int = 1000,
    codecs: Sequence[str] = (),
    description: str = "lcstore light curves",
    table_key: str = "",
    object_key_column: str = "",
    object_key_prefix: str = "",
) -> Store:
    """Creates a light-curve store at ``path``, every value NaN, and opens it ``"r+"``.

    ``objects`` gives the object keys and positions: a catalog file (the
    detection catalog), an astropy ``Table``, a pandas ``DataFrame`` or a dict
    of arrays, with columns named as SExtractor (``NUMBER``, ``ALPHA_J2000``,
    ``DELTA_J2000``, ``X_IMAGE``, ``Y_IMAGE``) or plainly (``id``, ``ra``,
    ``dec``, ``x``, ``y``). ``epochs`` is a sequence of epoch keys, or a table
    (dict, astropy, pandas) whose ``epoch`` (or ``key``) column holds the keys
    and whose other columns become per-epoch variables such as ``mjd``.
    ``measurements`` defaults to every measurement of the objects catalog that
    has all of ``values`` (``"mag"``, ``"mag_err"``, ``"flux"``, ``"flux_err"``).
    ``object_chunk`` is the objects per chunk of the write layout; ``codecs``
    the compressors in lcstore's codec syntax (``["zstd:3"]``).
    ``table_key``, ``object_key_column`` and ``object_key_prefix`` map catalog
    columns as in :meth:`Store.populate`.

    Raises :class:`~lcstore.errors.InvalidArgumentError` if ``path`` already
    holds a store, :class:`~lcstore.errors.BadInputError` for a catalog
    without the columns needed.
    """
    table = _tables.load(objects)
    found = _lcstore.object_table(table, list(values), table_key, object_key_column, object_key_prefix)
    chosen = list(found["measurements"]) if measurements is None else [str(m) for m in measurements]
    if not chosen:
        raise BadInputError(
            table.source, "has no measurement with every requested value column; name them with measurements="
        )
    epoch_keys, epoch_variables = _epoch_table(epochs)
    native = _lcstore.NativeStore.create(
        os.fspath(path),
        found["keys"],
        found["ra"],
        found["dec"],
        found["x"],
        found["y"],
        epoch_keys,
        epoch_variables,
        chosen,
        list(values),
        int(object_chunk),
        list(codecs),
        description,
    )
    return Store(native, "r+")


def open(path: PathLike, mode: str = "r") -> Store:  # noqa: A001 - the package's verb, as zarr.open
    """Opens the light-curve store at ``path``: ``mode="r"`` to read, ``"r+"`` to populate and rechunk too.

    Opens stores lcstore wrote and stores xarray wrote with ``to_zarr`` in the
    same layout. Raises :class:`~lcstore.errors.NotFoundError` if there is none.
    """
    if mode not in ("r", "r+"):
        raise InvalidArgumentError("mode", f"is {mode!r}; give 'r' or 'r+'")
    return Store(_lcstore.NativeStore.open(os.fspath(path)), mode)


class Store:
    """An open light-curve store ``lightcurves[object, measurement, value, epoch]``.

    A store may be used from many threads at once: the engine does its work
    without the GIL, and populates of the same or different epochs in any
    number of threads and processes lose nothing. A store pickles as its path
    and mode, so it can be passed to worker processes, which reopen it.
    """

    def __init__(self, native: _lcstore.NativeStore, mode: str) -> None:
        self._native: _lcstore.NativeStore | None = native
        self._path = str(native.path)
        self._mode = mode
        self._labels: dict[str, Any] = {}

    # ---- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Closes the store; later calls raise :class:`~lcstore.errors.ClosedStoreError`."""
        self._native = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __reduce__(self):
        return open, (self._path, self._mode)

    def __repr__(self) -> str:
        state = "closed" if self._native is None else f"{len(self.objects)} objects x {len(self.epochs)} epochs"
        return f"<lcstore.Store {self._path!r} mode={self._mode!r} {state}>"

    def _open(self) -> _lcstore.NativeStore:
        native = self._native
        if native is None:
            raise ClosedStoreError(self._path, "the store is closed")
        return native

    def _writable(self) -> _lcstore.NativeStore:
        native = self._open()
        if self._mode != "r+":
            raise ReadOnlyError(self._path, "the store is open read-only; open it with mode='r+' to write")
        return native

    # ---- labels -----------------------------------------------------------

    @property
    def path(self) -> str:
        """The store's directory."""
        return self._path

    @property
    def mode(self) -> str:
        """``"r"`` or ``"r+"``."""
        return self._mode

    # A store's labels and positions change only when it grows (add_epochs
    # or add_objects of this object; another process's growth shows when the store is opened
    # again), so they are read from the engine once; callers get copies of
    # the lists and read-only arrays.
    def _label(self, name: str, read: Callable[[_lcstore.NativeStore], Any]) -> Any:
        native = self._open()
        if name not in self._labels:
            self._labels[name] = read(native)
        label = self._labels[name]
        return list(label) if isinstance(label, list) else label

    @property
    def objects(self) -> list[str]:
        """The object keys, in store order."""
        return self._label("objects", lambda native: native.objects)

    @property
    def measurements(self) -> list[str]:
        """The measurement names (``"auto"``, ``"aper_1"``, ...)."""
        return self._label("measurements", lambda native: native.measurements)

    @property
    def values(self) -> list[str]:
        """The values of each measurement (``"mag"``, ``"mag_err"``, ...)."""
        return self._label("values", lambda native: native.values)

    @property
    def epochs(self) -> list[str]:
        """The epoch keys."""
        return self._label("epochs", lambda native: native.epochs)

    @property
    def epoch_variables(self) -> dict[str, Any]:
        """Per-epoch variables (stored as ``epoch_<name>``): numpy arrays, or lists of str."""
        return dict(self._label("epoch_variables", lambda native: dict(_read_only(native.epoch_variables))))

    @property
    def positions(self) -> dict[str, np.ndarray]:
        """Per-object ``ra``, ``dec`` (degrees) and ``x_image``, ``y_image`` (pixels)."""

        def read(native: _lcstore.NativeStore) -> dict[str, np.ndarray]:
            return dict(_read_only(zip(("ra", "dec", "x_image", "y_image"), native.object_positions)))

        return dict(self._label("positions", read))

    # ---- writing ----------------------------------------------------------

    def populate(
        self,
        epoch: str,
        catalog: Any,
        strategy: str = "v0",
        *,
        table_key: str = "",
        object_key_column: str = "",
        object_key_prefix: str = "",
        skip_unknown_objects: bool = False,
        skip_incomplete: bool = False,
        invalid_to_nan: bool = False,
        journal_id: str = "",
        force: bool = False,
        no_overwrite: bool = False,
        add_epochs: bool = False,
        match: str = "key",
        add_unmatched: bool = False,
    ) -> PopulateReport:
        """Writes one epoch's catalog into the store.

        ``catalog`` is a catalog file (any format :func:`read_catalog` reads)
        or an in-memory table (astropy ``Table``, pandas ``DataFrame``, dict of
        arrays). ``strategy`` is how the epoch's cells are written, all three
        safe under concurrency: ``"v0"`` a masked write of the cells given,
        ``"v1"`` a read-modify-write of the epoch's slab, ``"v2"`` one scatter.

        Catalog columns map to the store's measurements by SExtractor's names
        (``MAG_<m>``/``MAGERR_<m>`` give measurement ``<m>``) with
        ``table_key`` prefixed (``"ch1-auto"``); objects are keyed by
        ``object_key_column`` (default ``NUMBER``, else ``id``) with
        ``object_key_prefix`` prepended. Unknown objects and measurements
        lacking a value column are errors unless ``skip_unknown_objects`` /
        ``skip_incomplete``. ``invalid_to_nan`` (files only) turns SExtractor's
        99.0 magnitudes into NaN.

        A catalog file is journaled by its content: populating the same file
        into the same epoch again does nothing (``already_done``) unless
        ``force``, or unless another populate of that epoch changed any of its
        cells since. An in-memory catalog is journaled only under a
        ``journal_id`` you give. ``no_overwrite`` refuses (raises
        :class:`~lcstore.errors.BadInputError`, writes nothing) a catalog that
        would change finite values already stored.

        ``match="position"`` (or ``"position:RADIUS"``, in arcseconds; 1 by
        default) matches each catalog row to the nearest object within the
        radius of its RA and Dec instead of by key, for catalogs detected on
        each epoch's own image. Rows with no object within the radius are
        skipped and counted (``unmatched_rows_skipped``); of several rows
        nearest to one object the nearest is written and the others counted
        (``farther_rows_skipped``). With ``add_unmatched=True`` the rows with a
        position and no object within the radius first become new objects
        (as :meth:`add_objects`), keyed ``"<epoch>-<row key>"``, and are
        written like the others (``objects_added``). A catalog refused for its
        epoch or columns adds none; they stay if the write fails later. It
        needs ``match="position..."``.

        ``add_epochs=True`` first adds ``epoch`` to the store when it has no
        such epoch (as :meth:`add_epochs`), so a nightly pipeline can just
        populate.

        Everything is checked before the first write, so an error
        (:class:`~lcstore.errors.NotFoundError` for an unknown epoch or object,
        :class:`~lcstore.errors.BadInputError` for a catalog missing columns)
        leaves the store unchanged.
        """
        native = self._writable()
        if strategy not in STRATEGIES:
            raise InvalidArgumentError("strategy", f"is {strategy!r}; give one of {', '.join(STRATEGIES)}")
        mapping = (str(table_key), str(object_key_column), str(object_key_prefix))
        radius = _match_radius(match)
        if add_unmatched and radius is None:
            raise InvalidArgumentError("add_unmatched", 'adds rows unmatched by position; give match="position"')
        if add_epochs and str(epoch) not in self.epochs:
            self.add_epochs([str(epoch)])
        if _tables.is_path(catalog):
            if journal_id:
                raise InvalidArgumentError("journal_id", "a catalog file is journaled by its content; omit journal_id")
            name = os.fspath(catalog)
            fields = native.populate_file(
                str(epoch), name, invalid_to_nan, strategy, *mapping, skip_unknown_objects, skip_incomplete, force, no_overwrite, radius, add_unmatched
            )
        else:
            if invalid_to_nan:
                raise InvalidArgumentError("invalid_to_nan", "applies to catalog files only")
            table = _tables.to_native(catalog)
            name = table.source
            fields = native.populate(
                str(epoch), table, strategy, *mapping, skip_unknown_objects, skip_incomplete, journal_id, force, no_overwrite, radius, add_unmatched
            )
        if fields["objects_added"]:
            self._labels.pop("objects", None)
            self._labels.pop("positions", None)
        return PopulateReport(epoch=str(epoch), catalog=name, **fields)

    def populate_many(
        self,
        catalogs: Sequence[Any],
        epochs: Sequence[str] | None = None,
        *,
        epoch_from_name: str | None = None,
        threads: int | None = None,
        progress: bool | Callable[[PopulateReport], None] = False,
        **populate_options: Any,
    ) -> list[PopulateReport]:
        """Populates many catalogs, ``threads`` at a time (default: one per core).

        Each catalog's epoch is the matching item of ``epochs``, or the first
        group of the regular expression ``epoch_from_name`` searched in the
        catalog file's name (``r"epoch_(\\w+)\\.cat"``). ``progress=True``
        shows a tqdm bar when tqdm is installed; a callable is called with
        each report as it completes. ``populate_options`` are those of
        :meth:`populate`.

        Resuming: each catalog file is journaled when it completes, so after
        an interruption or a failure, the same call again skips the catalogs
        done (``already_done``) and writes the rest. Every catalog is tried;
        if any failed, the first failure is raised after the others finish.
        """
        self._writable()
        catalogs = list(catalogs)
        keys = epochs_of(catalogs, epochs, epoch_from_name)
        report_progress, finish = _progress(progress, len(catalogs))
        workers = max(1, min(threads or os.cpu_count() or 1, len(catalogs) or 1))

        def one(index: int) -> PopulateReport | BaseException:
            try:
                report = self.populate(keys[index], catalogs[index], **populate_options)
            except Error as error:
                return error
            report_progress(report)
            return report

        try:
            with ThreadPoolExecutor(workers) as pool:
                outcomes = list(pool.map(one, range(len(catalogs))))
        finally:
            finish()
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]
        return outcomes  # type: ignore[return-value]

    def add_epochs(self, epochs: Any) -> int:
        """Appends the epochs the store does not have yet and returns how many it added.

        ``epochs`` is a sequence of keys or a table with an ``epoch`` (or
        ``key``) column, as in :func:`create`; its other columns must be
        variables the store has (``mjd``), and new epochs get NaN (or ``""``)
        for the store's variables the table lacks. Keys the store has already
        are left as they are, so two processes adding the same night both
        succeed and it appears once. Safe beside populates, rechunks and
        readers in any thread or process: every array with an epoch dimension
        grows at once, so xarray opening the store meanwhile sees one epoch
        count. The read layout becomes stale.
        """
        native = self._writable()
        keys, variables = _epoch_table(epochs)
        added = native.add_epochs(keys, variables)
        self._labels.pop("epochs", None)
        self._labels.pop("epoch_variables", None)
        return int(added)

    def add_objects(
        self,
        objects: Any,
        *,
        table_key: str = "",
        object_key_column: str = "",
        object_key_prefix: str = "",
    ) -> int:
        """Appends the objects the store does not have yet and returns how many it added.

        ``objects`` is a detection catalog (a file, an astropy ``Table``, a
        pandas ``DataFrame`` or a dict of arrays) with keys and positions, as
        in :func:`create`; the key options map its columns as there. Keys the
        store has already are left as they are (each key is added once). The
        new objects' light curves are NaN until populated. Safe beside
        populates, rechunks and readers in any thread or process, as
        :meth:`add_epochs`; the read layout and the features become stale.
        """
        native = self._writable()
        table = _tables.load(objects)
        found = _lcstore.object_table(table, list(self.values), table_key, object_key_column, object_key_prefix)
        added = native.add_objects(found["keys"], found["ra"], found["dec"], found["x"], found["y"])
        self._labels.pop("objects", None)
        self._labels.pop("positions", None)
        return int(added)

    def rechunk(self, object_chunk: int = 256, *, memory_budget: int = 1 << 30, threads: int | None = None) -> None:
        """Builds the read layout: shards of ``object_chunk`` objects holding every epoch.

        Afterwards light-curve reads touch only each object's bytes, until the
        next populate (queries then read the write layout again). Stages at
        most ``memory_budget`` bytes at once over ``threads`` threads.
        """
        native = self._writable()
        native.rechunk(int(object_chunk), int(memory_budget), int(threads or os.cpu_count() or 1))

    # ---- reading ----------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Status, shapes and chunks of both layouts, coordinate ranges and the journal, as a dict."""
        return json.loads(self._open().info_json())

    @property
    def read_layout_current(self) -> bool:
        """Whether the read layout exists and no populate started since it was made."""
        return self._open().read_layout_current()

    def lightcurves(self, objects: Iterable[str], measurement: str | None = None) -> np.ndarray:
        """Light curves of many objects: float32 ``[object, measurement, value, epoch]``, NaN where missing.

        With ``measurement`` the second axis has that one measurement. Objects
        are read in storage order, so asking for many at once is much cheaper
        than one at a time; when they are consecutive rows the array is the
        engine's own read buffer, not a copy. Raises
        :class:`~lcstore.errors.NotFoundError` for an unknown object or
        measurement before reading anything.
        """
        keys = _keys("objects", objects)
        return self._open().light_curves(keys, None if measurement is None else str(measurement))

    def lightcurve(self, object: str, measurement: str | None = None):  # noqa: A002 - the original's name
        """One object's light curve as an ``xarray.DataArray``.

        Dims ``(measurement, value, epoch)``, or ``(value, epoch)`` with
        ``measurement``; coordinates ``object``, ``ra``, ``dec``, ``x_image``,
        ``y_image`` and the epoch variables (``epoch_mjd``), as the original's
        ``lightcurves.sel(object=...)``.
        """
        import xarray as xr

        native = self._open()
        key = _key("object", object)
        chosen = None if measurement is None else str(measurement)
        data = native.light_curves([key], chosen)[0]
        variables, indexes, dims = self._label(("curve", chosen), lambda _: self._curve_coordinates(chosen))
        row = native.object_index(key)
        scalars = {"object": key, **{name: cells[row] for name, cells in self.positions.items()}}
        coords = xr.Coordinates(
            {**variables, **{name: xr.Variable((), value) for name, value in scalars.items()}}, indexes=indexes
        )
        return xr.DataArray(data if chosen is None else data[0], coords=coords, dims=dims, name="lightcurves")

    def _curve_coordinates(self, measurement: str | None) -> tuple[dict, dict, tuple]:
        """The coordinates every light curve shares, with their indexes (made once: they dominate a read)."""
        import xarray as xr

        template = xr.DataArray(
            np.empty((1 if measurement else len(self.measurements), len(self.values), len(self.epochs))),
            dims=("measurement", "value", "epoch"),
            coords={
                "measurement": [measurement] if measurement else self.measurements,
                "value": self.values,
                "epoch": self.epochs,
                **{f"epoch_{name}": ("epoch", cells) for name, cells in self.epoch_variables.items()},
            },
        )
        if measurement is not None:
            template = template.isel(measurement=0)
        return dict(template.coords.variables), dict(template.xindexes), template.dims

    def epoch(self, key: str):
        """Every object's values at one epoch: an ``xarray.DataArray`` with dims ``(object, measurement, value)``."""
        import xarray as xr

        native = self._open()
        data = native.epoch(_key("epoch", key))
        return xr.DataArray(
            data,
            dims=("object", "measurement", "value"),
            coords={
                "object": native.objects,
                "measurement": native.measurements,
                "value": native.values,
                "epoch": str(key),
                **{name: ("object", cells) for name, cells in self.positions.items()},
            },
            name="lightcurves",
        )

    def region(self, ra: tuple[float, float], dec: tuple[float, float]) -> Matches:
        """Objects with ``ra[0] <= ra <= ra[1]`` and ``dec[0] <= dec <= dec[1]`` (degrees).

        ``ra[0] > ra[1]`` is a box through RA 0/360.
        """
        (ra_min, ra_max), (dec_min, dec_max) = _pair("ra", ra), _pair("dec", dec)
        return self._matches(self._open().region(ra_min, ra_max, dec_min, dec_max))

    def cone(self, ra: float, dec: float, radius_arcsec: float) -> Matches:
        """Objects within ``radius_arcsec`` of (``ra``, ``dec``) in degrees, nearest first."""
        return self._matches(self._open().cone(float(ra), float(dec), float(radius_arcsec)))

    def _matches(self, found: tuple[np.ndarray, np.ndarray]) -> Matches:
        rows, separations = found
        keys = np.asarray(self.objects, dtype=object)[rows.astype(np.intp)] if len(rows) else np.array([], dtype=object)
        return Matches(objects=keys.astype(str), rows=rows, separation_arcsec=separations)

    # ---- features ---------------------------------------------------------

    def compute_features(
        self,
        measurements: Sequence[str] | None = None,
        *,
        calibrated: bool = False,
        time: str = "mjd",
        min_period: float | None = None,
        max_period: float | None = None,
        oversample: float | None = None,
        threads: int | None = None,
    ) -> FeatureRunReport:
        """Computes and stores the variability features of every object, as ``lcstore features`` does.

        For each of ``measurements`` (default: all) over each object's finite
        epochs, with times from the epoch variable ``epoch_<time>``: the
        features of :func:`feature_names` and a generalized Lomb-Scargle
        periodogram on a grid from ``min_period`` (default: twice the median
        interval between epochs) to ``max_period`` (default: the baseline),
        ``oversample`` (default 10) steps per 1 / baseline. ``calibrated``
        applies the zero points of ``lcstore calibrate`` first. They are
        stored as ``features[object, measurement, feature]`` (float64), which
        ``xr.open_zarr`` shows; read them with :meth:`features`.

        Raises :class:`~lcstore.errors.NotFoundError` for an unknown
        measurement or a missing time variable, before anything is written.
        """
        native = self._writable()
        chosen = [] if measurements is None else _keys("measurements", measurements)
        fields = native.compute_features(
            chosen,
            bool(calibrated),
            _key("time", time),
            *_periodogram(min_period, max_period, oversample),
            int(threads or os.cpu_count() or 1),
        )
        return FeatureRunReport(**fields)

    def feature_status(self) -> dict[str, dict[str, Any]]:
        """Per measurement: ``{"status": "absent" | "current" | "stale", "calibrated": bool}``.

        Features are stale once a populate started after they were computed.
        """
        return {
            measurement: {"status": status, "calibrated": calibrated}
            for measurement, (status, calibrated) in self._open().feature_status()
        }

    def features(self, measurement: str | None = None):
        """The stored features as an ``xarray.DataArray`` (float64, NaN where not computable).

        Dims ``(object, measurement, feature)`` over the measurements whose
        features were computed, or ``(object, feature)`` with
        ``measurement``; coordinates ``object``, ``ra``, ``dec`` and
        ``feature``. ``store.features("auto").to_pandas()`` is a
        ``pandas.DataFrame`` indexed by object with a column per feature.
        Raises :class:`~lcstore.errors.NotFoundError` if none were computed
        (for ``measurement``): run :meth:`compute_features` first.
        """
        native = self._open()
        if measurement is not None:
            return self._feature_array(native.features(_key("measurement", measurement)), None)
        computed = [name for name, entry in self.feature_status().items() if entry["status"] != "absent"]
        if not computed:
            raise NotFoundError(self._path, "no features computed; run compute_features() or lcstore features")
        return self._feature_array(np.stack([native.features(name) for name in computed], axis=1), computed)

    def _feature_array(self, values: np.ndarray, measurements: list[str] | None):
        """``values`` [object, (measurement,) feature] labelled as :meth:`features` returns them."""
        import xarray as xr

        dims = ("object", "feature") if measurements is None else ("object", "measurement", "feature")
        coords: dict[str, Any] = {
            "object": self.objects,
            "feature": feature_names(),
            "ra": ("object", self.positions["ra"]),
            "dec": ("object", self.positions["dec"]),
        }
        if measurements is not None:
            coords["measurement"] = measurements
        return xr.DataArray(values, dims=dims, coords=coords, name="features")

    def to_xarray(self, chunks: Any = None):
        """The store as an ``xarray.Dataset``, its light curves read lazily through the engine.

        The same Dataset ``xr.open_dataset(path, engine="lcstore")`` gives;
        ``chunks`` makes its variables dask arrays.
        """
        import xarray as xr

        return xr.open_dataset(self._path, engine="lcstore", chunks=chunks)


def epochs_of(catalogs: Sequence[Any], epochs: Sequence[str] | None, epoch_from_name: str | None) -> list[str]:
    """The epoch of each catalog: ``epochs`` itself, or matched from each file name by ``epoch_from_name``."""
    if (epochs is None) == (epoch_from_name is None):
        raise InvalidArgumentError("epochs", "give either epochs or epoch_from_name")
    if epochs is not None:
        keys = _keys("epochs", epochs)
        if len(keys) != len(catalogs):
            raise InvalidArgumentError("epochs", f"has {len(keys)} keys for {len(catalogs)} catalogs")
        return keys
    try:
        pattern = re.compile(epoch_from_name)
    except re.error as error:
        raise InvalidArgumentError("epoch_from_name", str(error)) from None
    keys = []
    for catalog in catalogs:
        if not _tables.is_path(catalog):
            raise InvalidArgumentError("epoch_from_name", "needs catalog files; give epochs for in-memory catalogs")
        match = pattern.search(os.path.basename(os.fspath(catalog)))
        if match is None or match.lastindex is None or match.group(1) is None:
            raise InvalidArgumentError(
                os.fspath(catalog), f"the file name does not match epoch_from_name {epoch_from_name!r} with a group"
            )
        keys.append(match.group(1))
    return keys


def _read_only(named: Iterable[tuple[str, Any]]) -> Iterable[tuple[str, Any]]:
    for name, cells in named:
        if isinstance(cells, np.ndarray):
            cells.setflags(write=False)
        yield name, cells


def _progress(progress: bool | Callable[[PopulateReport], None], total: int):
    """A function to call with each finished report and one to call at the end."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda _report: None), lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return (lambda _report: None), lambda: None
    bar = tqdm(total=total, desc="populate", unit="catalog")
    return (lambda _report: bar.update(1)), bar.close


def _key(what: str, key: Any) -> str:
    if not isinstance(key, (str, np.str_)):
        raise InvalidArgumentError(what, f"is a {type(key).__name__}; give the key as a str")
    return str(key)


def _keys(what: str, keys: Any) -> list[str]:
    if isinstance(keys, (str, bytes)):
        raise InvalidArgumentError(what, "is a single str; give a sequence of keys")
    if isinstance(keys, list) and all(type(key) is str for key in keys):
        return keys
    return [_key(what, key) for key in keys]


def _periodogram(min_period: float | None, max_period: float | None, oversample: float | None) -> list[float]:
    """The engine's periodogram options: each positive, or 0 for its default."""
    options = []
    for name, given in (("min_period", min_period), ("max_period", max_period), ("oversample", oversample)):
        value = 0.0 if given is None else float(given)
        if given is not None and not value > 0:
            raise InvalidArgumentError(name, f"is {given!r}; give a positive number, or None for the default")
        options.append(value)
    return options


def _pair(what: str, bounds: Any) -> tuple[float, float]:
    try:
        low, high = bounds
        return float(low), float(high)
    except (TypeError, ValueError):
        raise InvalidArgumentError(what, f"is {bounds!r}; give (min, max) in degrees") from None
