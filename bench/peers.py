#!/usr/bin/env python3
"""make bench-peers: the workloads of the public zarr_benchmarks suite (read
all and write all of a uint16 cube, 32^3 chunks with blosclz level 9 and
bitshuffle, plain and in shards) for lcstore (C++, bench/zarr_peer_bench)
against zarr-python, zarr-python with zarrs' codec pipeline and TensorStore,
all with as many threads as the machine has cores, in one run.

Each figure is the median of BENCH_PEERS_REPEATS runs (rounds that take the
engines in turn), printed with lcstore's speed-up over it and its share of
the physical baseline: read() or write() of the same files with the same
threads. Before each read the page cache is emptied (sync; echo 3 >
/proc/sys/vm/drop_caches, as root); the run says whether that worked. Before
each write the dirty pages are synced; a write's time ends when its last
write() returns (nothing is synced inside it), as for write() itself.
Every engine reads the store lcstore wrote, and its result is checked.

Environment: BENCH_PEERS_SHAPE (default 512,1024,1024: 1 GiB), BENCH_PEERS_SHARD
(default 128,512,512), BENCH_PEERS_REPEATS (3), BENCH_PEERS_DIR (a folder
under $TMPDIR), LCSTORE_BUILD (build).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import tensorstore as ts
import zarr

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("LCSTORE_BUILD", ROOT / "build"))
TOOL = BUILD / "bench" / "zarr_peer_bench"
THREADS = os.cpu_count()
SHAPE = [int(n) for n in os.environ.get("BENCH_PEERS_SHAPE", "512,1024,1024").split(",")]
SHARD = [int(n) for n in os.environ.get("BENCH_PEERS_SHARD", "128,512,512").split(",")]
REPEATS = int(os.environ.get("BENCH_PEERS_REPEATS", "3"))
INNER = [32, 32, 32]
BLOSC = {"name": "blosc", "configuration": {"cname": "blosclz", "clevel": 9, "shuffle": "bitshuffle", "typesize": 2, "blocksize": 0}}
CHAIN = [{"name": "bytes", "configuration": {"endian": "little"}}, BLOSC]
# Speed-up lcstore is to reach over each peer.
TARGETS = {"zarr-python": 3.0, "zarr-python+zarrs": 1.0, "tensorstore": 1.3}


def metadata(layout):
    if layout == "chunked":
        chunks, codecs = INNER, CHAIN
    else:
        index = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
        sharding = {"chunk_shape": INNER, "codecs": CHAIN, "index_codecs": index, "index_location": "end"}
        chunks, codecs = SHARD, [{"name": "sharding_indexed", "configuration": sharding}]
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": SHAPE,
        "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": codecs,
        "attributes": {},
    }


def cube():
    """Smooth structure plus noise, so that blosc compresses it about as much
    as an image volume (a few times)."""
    z, y, x = np.indices(SHAPE, dtype=np.uint32, sparse=True)
    rng = np.random.default_rng(0)
    smooth = (z * 7 + y * 3 + x) % 4096
    return (smooth + rng.integers(0, 64, size=SHAPE, dtype=np.uint32)).astype(np.uint16)


def tool(*args):
    return json.loads(subprocess.run([str(TOOL), *map(str, args)], check=True, capture_output=True, text=True).stdout)


def empty_page_cache():
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "emptied before each read"
    except OSError as error:
        return f"NOT emptied (warm reads): {error}"


def zarr_config(pipeline):
    settings = {"threading.max_workers": THREADS}
    if pipeline:
        settings.update({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline", "codec_pipeline.strict": True})
    return zarr.config.set(settings)


def tensorstore_spec(path):
    limit = {"limit": THREADS}
    context = {"data_copy_concurrency": limit, "file_io_concurrency": limit}
    return {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path) + "/"}, "context": context}


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


class Engines:
    """write(path, layout) and read(path) -> (seconds, check) for each engine."""

    def __init__(self, data, scratch):
        self.data, self.scratch = data, scratch
        self.raw = scratch / "data.raw"
        self.raw.write_bytes(data.tobytes())
        self.byte_sum = int(np.frombuffer(self.raw.read_bytes(), np.uint8).sum(dtype=np.uint64))

    def write(self, engine, path, layout):
        document = metadata(layout)
        if engine == "lcstore":
            meta = self.scratch / f"{layout}.json"
            meta.write_text(json.dumps(document))
            return tool("write", path, meta, self.raw, THREADS)["seconds"]
        if engine == "tensorstore":
            fields = {k: v for k, v in document.items() if k not in ("zarr_format", "node_type")}
            spec = {**tensorstore_spec(path), "metadata": fields, "create": True, "delete_existing": True}
            return timed(lambda: ts.open(spec).result().write(self.data).result())[0]
        with zarr_config(engine.endswith("+zarrs")):
            def write():
                array = zarr.create(
                    store=str(path), shape=SHAPE, dtype="uint16", chunk_shape=document["chunk_grid"]["configuration"]["chunk_shape"],
                    codecs=document["codecs"], fill_value=0, zarr_format=3, overwrite=True,
                )
                array[...] = self.data
            return timed(write)[0]

    def read(self, engine, path):
        if engine == "lcstore":
            result = tool("read", path, THREADS)
            return result["seconds"], result["byte_sum"] == self.byte_sum
        if engine == "tensorstore":
            seconds, values = timed(lambda: ts.open({**tensorstore_spec(path), "open": True}).result().read().result())
        else:
            with zarr_config(engine.endswith("+zarrs")):
                seconds, values = timed(lambda: zarr.open_array(str(path), mode="r")[...])
        return seconds, np.array_equal(values, self.data)


ENGINES = ["lcstore", "zarr-python", "zarr-python+zarrs", "tensorstore"]


def run_layout(engines, layout, cache_state):
    scratch = engines.scratch
    times = {(workload, engine): [] for workload in ("write", "read") for engine in [*ENGINES, "physical"]}
    reference = scratch / f"lcstore-{layout}.zarr"
    for _ in range(REPEATS):
        for engine in ENGINES:
            path = scratch / f"{engine}-{layout}.zarr"
            shutil.rmtree(path, ignore_errors=True)
            os.sync()
            times["write", engine].append(engines.write(engine, path, layout))
            if engine != "lcstore":
                shutil.rmtree(path)
        copy = scratch / f"raw-{layout}"
        shutil.rmtree(copy, ignore_errors=True)
        os.sync()
        times["write", "physical"].append(tool("raw-write", reference, copy, THREADS)["seconds"])
        shutil.rmtree(copy)
        for engine in ENGINES:
            cache_state.add(empty_page_cache())
            seconds, correct = engines.read(engine, reference)
            if not correct:
                sys.exit(f"bench-peers: {engine} read wrong values from {reference}")
            times["read", engine].append(seconds)
        cache_state.add(empty_page_cache())
        times["read", "physical"].append(tool("raw-read", reference, THREADS)["seconds"])
    stored = sum(f.stat().st_size for f in reference.rglob("*") if f.is_file())
    return {key: statistics.median(values) for key, values in times.items()}, stored


def report(layout, medians, stored, missed):
    gib = np.prod(SHAPE) * 2 / 2**30
    for workload in ("write", "read"):
        lcstore, physical = medians[workload, "lcstore"], medians[workload, "physical"]
        print(f"{layout} {workload}-all ({gib:.2f} GiB of uint16, {stored / 2**20:.0f} MiB stored):")
        print(f"  {'physical ' + workload + '()':<20} {physical:8.3f} s  {gib / physical:7.2f} GiB/s")
        for engine in ENGINES:
            seconds = medians[workload, engine]
            line = f"  {engine:<20} {seconds:8.3f} s  {gib / seconds:7.2f} GiB/s  {physical / seconds:5.2f}x physical"
            if engine != "lcstore":
                speedup = seconds / lcstore
                verdict = "met" if speedup >= TARGETS[engine] else "MISSED"
                line += f"  lcstore {speedup:5.2f}x faster (target {TARGETS[engine]}x: {verdict})"
                if verdict == "MISSED":
                    missed.append(f"{layout} {workload}-all against {engine}: {speedup:.2f}x")
            print(line)


def main():
    if not TOOL.exists():
        sys.exit(f"bench-peers: {TOOL} is missing; build the zarr_peer_bench target")
    base = os.environ.get("BENCH_PEERS_DIR")
    scratch = Path(base) if base else Path(tempfile.mkdtemp(prefix="lcstore-bench-peers-"))
    scratch.mkdir(parents=True, exist_ok=True)
    versions = ", ".join(f"{name} {version(name)}" for name in ("zarr", "zarrs", "tensorstore"))
    print(f"bench-peers: shape {SHAPE}, shards {SHARD}, inner chunks {INNER}, blosclz:9:bitshuffle; {THREADS} threads; "
          f"median of {REPEATS}; {versions}")
    try:
        engines = Engines(cube(), scratch)
        cache_state, missed = set(), []
        for layout in ("chunked", "sharded"):
            medians, stored = run_layout(engines, layout, cache_state)
            report(layout, medians, stored, missed)
        print("page cache: " + "; ".join(sorted(cache_state)))
        print("targets missed: " + ("; ".join(missed) if missed else "none"))
    finally:
        if not base:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
