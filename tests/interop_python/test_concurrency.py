"""Four lcstore writer processes share every chunk of an array while
zarr-python and TensorStore readers loop over it: no reader fails, no chunk
read mixes two writes of one writer, and the final data is exact."""

import subprocess
import threading
import time

import numpy as np
import pytest
import zarr

from peers import ROUNDTRIP, Lcstore, TensorStore
from specs import array_metadata, bytes_codec

WRITERS = 4
WRITES = 500
ROWS, BAND, CHUNK_ROWS = 16, 2, 4  # each chunk holds all rows' bands of every writer

pytestmark = pytest.mark.skipif(zarr.__version__ == "3.0.6", reason="the newest zarr-python's test")


def first_value(writer):
    return (writer + 1) * 100_000


def check_snapshot(values):
    """Within each chunk, a writer's band holds one of its writes (or the fill value)."""
    for chunk_start in range(0, ROWS, CHUNK_ROWS):
        for writer in range(WRITERS):
            band = values[chunk_start : chunk_start + CHUNK_ROWS, writer * BAND : (writer + 1) * BAND]
            distinct = np.unique(band)
            assert len(distinct) == 1, f"chunk at row {chunk_start} mixes writes of writer {writer}: {distinct}"
            value = int(distinct[0])
            assert value == 0 or first_value(writer) <= value < first_value(writer) + WRITES


def test_readers_loop_while_four_processes_write_shared_chunks(tmp_path):
    path = tmp_path / "shared.zarr"
    zstd = {"name": "zstd", "configuration": {"level": 1, "checksum": False}}
    metadata = array_metadata([ROWS, WRITERS * BAND], "int32", [CHUNK_ROWS, WRITERS * BAND], [bytes_codec(), zstd], 0)
    Lcstore().write(path, metadata, np.zeros((ROWS, WRITERS * BAND), "int32"))

    done = threading.Event()
    reads, errors = {"zarr-python": 0, "tensorstore": 0}, []

    def loop(name, read):
        while not done.is_set():
            try:
                check_snapshot(read())
                reads[name] += 1
            except Exception as error:  # every failure is reported, none stops the others
                errors.append(f"{name}: {error!r}")
                return

    tensorstore = TensorStore().open(path)
    readers = [
        threading.Thread(target=loop, args=("zarr-python", lambda: zarr.open_array(str(path), mode="r")[...])),
        threading.Thread(target=loop, args=("tensorstore", lambda: tensorstore.read().result())),
    ]
    for reader in readers:
        reader.start()
    # The writers start once both readers are looping.
    while min(reads.values()) == 0 and not errors:
        time.sleep(0.01)
    reads_before = dict(reads)
    writers = [
        subprocess.Popen(
            [str(ROUNDTRIP), "fill", str(path), "", f"0:{ROWS},{w * BAND}:{(w + 1) * BAND}", str(first_value(w)), str(WRITES)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    failures = [(w.wait(), w.stderr.read()) for w in writers]
    done.set()
    for reader in readers:
        reader.join()

    assert all(status == 0 for status, _ in failures), failures
    assert errors == []
    assert all(reads[name] - reads_before[name] >= 3 for name in reads), (reads_before, reads)
    final = Lcstore().read(path)
    expected = np.repeat([first_value(w) + WRITES - 1 for w in range(WRITERS)], BAND)
    assert (final == expected[np.newaxis, :]).all()
    check_snapshot(zarr.open_array(str(path), mode="r")[...])
