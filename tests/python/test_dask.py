"""lcstore.dask.populate on a LocalCluster of 4 worker processes."""

from __future__ import annotations

import os
from typing import Any
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import lcstore
import lcstore.dask
from conftest import synthetic_catalog

OBJECTS, EPOCHS, WORKERS = 400, 5, 4


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def test_the_report_scenario_with_shared_chunks_loses_nothing(tmp_path, client):
    keys = [f"e{epoch}" for epoch in range(EPOCHS)]
    path = tmp_path / "s"
    lcstore.create(path, synthetic_catalog(OBJECTS, 0), keys, object_chunk=1000)
    partitions = [slice(w * OBJECTS // WORKERS, (w + 1) * OBJECTS // WORKERS) for w in range(WORKERS)]
    catalogs = [synthetic_catalog(OBJECTS, epoch, rows) for epoch in range(EPOCHS) for rows in partitions]
    epochs = [key for key in keys for _ in partitions]
    reports = lcstore.dask.populate(path, catalogs, client, epochs=epochs, strategy="v2")
    assert sum(report.values_written for report in reports) == OBJECTS * EPOCHS * 4
    reference = lcstore.create(tmp_path / "reference", synthetic_catalog(OBJECTS, 0), keys)
    for epoch, key in enumerate(keys):
        reference.populate(key, synthetic_catalog(OBJECTS, epoch))
    store = lcstore.open(path)
    np.testing.assert_array_equal(store.lightcurves(store.objects), reference.lightcurves(reference.objects))


def write_catalogs(directory, count: int, objects: int) -> list[str]:
    paths = []
    for epoch in range(count):
        path = directory / f"epoch_{epoch:03d}.csv"
        pd.DataFrame(synthetic_catalog(objects, epoch)).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def test_a_killed_worker_then_the_same_call_ends_as_an_uninterrupted_run(tmp_path, client):
    objects, count = 20000, 24
    catalogs = write_catalogs(tmp_path, count, objects)
    keys = [f"{epoch:03d}" for epoch in range(count)]
    for name in ("killed", "uninterrupted"):
        lcstore.create(tmp_path / name, synthetic_catalog(objects, 0), keys, object_chunk=4096)
    uninterrupted = lcstore.open(tmp_path / "uninterrupted", "r+")
    uninterrupted.populate_many(catalogs, epoch_from_name=r"epoch_(\d+)", threads=2)

    outcome: list[Any] = []
    call = threading.Thread(
        target=lambda: outcome.append(_attempt(tmp_path / "killed", catalogs, client)), daemon=True
    )
    call.start()
    store = lcstore.open(tmp_path / "killed")
    deadline = time.monotonic() + 120
    while not store.info()["populated_epochs"] and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = next(iter(client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    done_at_kill = len(store.info()["populated_epochs"])
    assert 0 < done_at_kill < count, "the worker was not killed mid-run"
    call.join(300)
    assert not call.is_alive()

    again = lcstore.dask.populate(tmp_path / "killed", catalogs, client, epoch_from_name=r"epoch_(\d+)")
    assert any(report.already_done for report in again)
    np.testing.assert_array_equal(store.lightcurves(store.objects), uninterrupted.lightcurves(uninterrupted.objects))
    assert store.info()["populated_epochs"] == keys


def _attempt(path, catalogs, client):
    try:
        return lcstore.dask.populate(path, catalogs, client, epoch_from_name=r"epoch_(\d+)")
    except Exception as error:  # the killed worker's task may exhaust its retries
        return error
