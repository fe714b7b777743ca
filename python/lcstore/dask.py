"""Populating a store and computing its features on a Dask cluster: ``lcstore.dask.populate``, ``lcstore.dask.features``.

Each catalog is one task; a worker opens the store by its path and populates
that catalog's epoch, so the workers' writes meet only in the store, under
its chunk locks, and lose nothing however they share chunks. Catalog files are
journaled by content when their task completes: a task re-run by the
scheduler after its worker died, or a whole call run again after an
interruption, skips what is done and redoes the rest, ending exactly as an
uninterrupted run.

A cluster of several machines needs the store on a shared POSIX file system
whose fcntl (open-file-description) locks work across clients: NFSv4 (lock
state on the server), Lustre mounted with ``-o flock``, a local disk for a
one-machine ``LocalCluster``. Where the file system has no fcntl locks
(Lustre ``noflock``, some FUSE mounts) every populate fails with an I/O error
naming the lock file rather than writing unlocked; catalogs must also be
readable at the same path from every worker (or be passed in memory).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import store as _store
from .errors import Error, InvalidArgumentError


def _populate_one(path: str, epoch: str, catalog: Any, options: dict[str, Any]) -> _store.PopulateReport:
    with _store.open(path, "r+") as opened:
        return opened.populate(epoch, catalog, **options)


def populate(
    path: Any,
    catalogs: Sequence[Any],
    client: Any = None,
    epochs: Sequence[str] | None = None,
    epoch_from_name: str | None = None,
    **populate_options: Any,
) -> list[_store.PopulateReport]:
    """Populates ``catalogs`` into the store at ``path`` on a ``distributed.Client``, one task per catalog.

    ``catalogs``, ``epochs`` and ``epoch_from_name`` are as in
    :meth:`lcstore.Store.populate_many`; ``populate_options`` as in
    :meth:`lcstore.Store.populate`. ``client`` defaults to the current client
    (``distributed.get_client()``). Returns the reports in catalog order;
    every catalog is tried, and if any failed the first failure is raised
    once the others are done.
    """
    from distributed import get_client, wait

    path = os.fspath(path)
    catalogs = list(catalogs)
    keys = _store.epochs_of(catalogs, epochs, epoch_from_name)
    _store.open(path, "r+").close()  # a missing store fails here, not in every task
    client = client or get_client()
    futures = client.map(
        _populate_one,
        [path] * len(catalogs),
        keys,
        catalogs,
        [populate_options] * len(catalogs),
        pure=False,
    )
    wait(futures)
    reports: list[_store.PopulateReport] = []
    failures: list[BaseException] = []
    for future in futures:
        if future.status == "error":
            failures.append(future.exception())
        else:
            reports.append(future.result())
    if failures:
        raise next((failure for failure in failures if isinstance(failure, Error)), failures[0])
    return reports


def _block_features(
    path: str, first: int, last: int, measurements: list[str], options: tuple[bool, str, list[float]]
) -> np.ndarray:
    calibrated, time, periodogram = options
    with _store.open(path) as opened:
        native = opened._open()
        objects = opened.objects[first:last]
        return np.stack(
            [native.object_features(objects, name, calibrated, time, *periodogram) for name in measurements], axis=1
        )


def features(
    path: Any,
    client: Any = None,
    measurements: Sequence[str] | None = None,
    *,
    calibrated: bool = False,
    time: str = "mjd",
    min_period: float | None = None,
    max_period: float | None = None,
    oversample: float | None = None,
    block_objects: int = 10_000,
):
    """The features of every object of the store at ``path``, computed on a ``distributed.Client`` in object blocks.

    One task per block of ``block_objects`` objects reads those objects'
    light curves and computes their features; the options are those of
    :meth:`lcstore.Store.compute_features`, and every block uses the grid a
    whole-store run uses, so the values equal what ``compute_features`` (or
    ``lcstore features``) stores. Returns them as :meth:`lcstore.Store.features`
    does, an ``xarray.DataArray`` ``(object, measurement, feature)``; they
    are not stored (the store is only read, so it may be open read-only).
    The options are checked on the first object before any task is sent.
    """
    from distributed import get_client

    if int(block_objects) <= 0:
        raise InvalidArgumentError("block_objects", f"is {block_objects!r}; give a positive number of objects")
    path = os.fspath(path)
    options = (bool(calibrated), _store._key("time", time), _store._periodogram(min_period, max_period, oversample))
    with _store.open(path) as opened:
        chosen = opened.measurements if measurements is None else _store._keys("measurements", measurements)
        n_objects = len(opened.objects)
        _block_features(path, 0, min(1, n_objects), chosen, options)  # bad options fail here, not in every task
        client = client or get_client()
        starts = list(range(0, n_objects, int(block_objects)))
        futures = client.map(
            _block_features,
            [path] * len(starts),
            starts,
            [start + int(block_objects) for start in starts],
            [chosen] * len(starts),
            [options] * len(starts),
            pure=False,
        )
        blocks = client.gather(futures)
        return opened._feature_array(np.concatenate(blocks, axis=0), chosen)
