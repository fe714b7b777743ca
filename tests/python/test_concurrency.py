"""The report's concurrent-write scenario through the native API, in threads and in processes.

400 objects, 5 epochs, one chunk per epoch (so every worker writes the same
chunks), 4 workers each holding its own store on the same path and writing a
disjoint 100-object partition of every epoch; then every stored value must
equal the catalog. LCSTORE_STRESS_REPETITIONS (default 100) sets the runs.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import lcstore
from conftest import synthetic_catalog

OBJECTS, EPOCHS, WORKERS = 400, 5, 4
REPETITIONS = int(os.environ.get("LCSTORE_STRESS_REPETITIONS", "100"))
# test_compat.py runs the scenario 100 times per method in processes; here
# each start method runs it a tenth as often.
PROCESS_REPETITIONS = max(1, REPETITIONS // 10)
EPOCH_KEYS = [f"e{epoch}" for epoch in range(EPOCHS)]


def expected_curves() -> np.ndarray:
    curves = np.empty((OBJECTS, 2, 2, EPOCHS), dtype=np.float32)
    for epoch in range(EPOCHS):
        catalog = synthetic_catalog(OBJECTS, epoch)
        for m, name in enumerate(("auto", "iso")):
            curves[:, m, 0, epoch] = catalog[f"mag_{name}"]
            curves[:, m, 1, epoch] = catalog[f"magerr_{name}"]
    return curves


def populate_partition(path: str, worker: int, strategy: str) -> int:
    store = lcstore.open(path, "r+")
    rows = slice(worker * OBJECTS // WORKERS, (worker + 1) * OBJECTS // WORKERS)
    return sum(
        store.populate(key, synthetic_catalog(OBJECTS, epoch, rows), strategy).values_written
        for epoch, key in enumerate(EPOCH_KEYS)
    )


def run_scenario(tmp_path, pool, strategy: str, expected: np.ndarray, repetitions: int) -> None:
    for repetition in range(repetitions):
        path = str(tmp_path / f"{strategy}-{repetition}")
        lcstore.create(path, synthetic_catalog(OBJECTS, 0), EPOCH_KEYS, object_chunk=1000)
        written = list(pool.map(populate_partition, [path] * WORKERS, range(WORKERS), [strategy] * WORKERS))
        assert sum(written) == OBJECTS * EPOCHS * 4, f"run {repetition}"
        stored = lcstore.open(path)
        np.testing.assert_array_equal(stored.lightcurves(stored.objects), expected, err_msg=f"{strategy} run {repetition}")


@pytest.mark.parametrize("strategy", lcstore.store.STRATEGIES)
def test_threads_with_their_own_stores_lose_nothing(tmp_path, strategy):
    with ThreadPoolExecutor(WORKERS) as pool:
        run_scenario(tmp_path, pool, strategy, expected_curves(), REPETITIONS)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
@pytest.mark.parametrize("strategy", lcstore.store.STRATEGIES)
def test_processes_lose_nothing(tmp_path, strategy, start_method):
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        run_scenario(tmp_path, pool, strategy, expected_curves(), PROCESS_REPETITIONS)


def test_one_store_shared_by_threads_that_populate_and_read(tmp_path):
    store = lcstore.create(tmp_path / "s", synthetic_catalog(OBJECTS, 0), EPOCH_KEYS, object_chunk=64)
    expected = expected_curves()

    def work(worker: int) -> None:
        rows = slice(worker * OBJECTS // WORKERS, (worker + 1) * OBJECTS // WORKERS)
        for epoch, key in enumerate(EPOCH_KEYS):
            store.populate(key, synthetic_catalog(OBJECTS, epoch, rows), lcstore.store.STRATEGIES[worker % 3])
            seen = store.lightcurves(store.objects[rows])
            np.testing.assert_array_equal(seen[:, :, :, : epoch + 1], expected[rows, :, :, : epoch + 1])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(WORKERS)))
    np.testing.assert_array_equal(store.lightcurves(store.objects), expected)
