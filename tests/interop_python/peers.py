"""The Zarr engines the interoperability tests compare: lcstore (through its
C++ test program) and the peers importable in this interpreter.

An array is described by its zarr.json document (`metadata`); every engine
writes it from that document and the same numpy data, and reads it back as a
numpy array (C order) or, for strings, a list.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import zarr

BUILD = Path(os.environ.get("LCSTORE_BUILD", Path(__file__).resolve().parents[2] / "build"))
ROUNDTRIP = BUILD / "tests" / "lcstore_roundtrip"
CLI = BUILD / "lcstore"


class LcstoreError(Exception):
    """A failed lcstore command: the same fields as lcstore::Error (kind, subject, reason)."""

    def __init__(self, kind, subject, reason):
        super().__init__(f"{kind}: {subject}: {reason}")
        self.kind, self.subject, self.reason = kind, subject, reason


def run_lcstore(program, *args):
    result = subprocess.run([str(program), *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise LcstoreError("exit status %d" % result.returncode, " ".join(map(str, args)), result.stderr.strip())
    return result.stdout


def numpy_dtype(metadata):
    name = metadata["data_type"]
    return np.dtype(object) if name == "string" else np.dtype(name)


def fill_value_of(metadata):
    """The zarr.json fill value as a numpy scalar (bit-exact for NaN payloads)."""
    fill, name = metadata["fill_value"], metadata["data_type"]
    if name == "string":
        return fill
    dtype = np.dtype(name)
    if isinstance(fill, str) and fill.startswith("0x"):
        return np.frombuffer(int(fill, 16).to_bytes(dtype.itemsize, "little"), dtype)[0]
    special = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}
    return dtype.type(special.get(fill, fill))


def expected_array(metadata, data, region):
    """The array's content after `data` is written into `region` (None: all)."""
    shape = tuple(metadata["shape"])
    if metadata["data_type"] == "string":
        full = np.full(shape, metadata["fill_value"], dtype=object)
    else:
        full = np.full(shape, fill_value_of(metadata), dtype=numpy_dtype(metadata))
    full[region_slices(region, shape)] = data
    return full


def region_slices(region, shape):
    if region is None:
        return tuple(slice(0, extent) for extent in shape)
    return tuple(slice(start, stop) for start, stop in region)


def same_content(actual, expected):
    """Bit-exact equality (NaN payloads, signed zeros), or equal strings."""
    actual = np.asarray(actual)
    if expected.dtype == object:
        return actual.shape == expected.shape and [str(v) for v in actual.ravel()] == list(expected.ravel())
    little = expected.dtype.newbyteorder("<")
    return actual.shape == expected.shape and (
        np.ascontiguousarray(actual, dtype=little).tobytes() == np.ascontiguousarray(expected, dtype=little).tobytes()
    )


class Lcstore:
    name = "lcstore"

    def write(self, path, metadata, data, region=None):
        with tempfile.TemporaryDirectory() as scratch:
            metadata_file, data_file = Path(scratch) / "zarr.json", Path(scratch) / "data"
            metadata_file.write_text(json.dumps(metadata))
            if metadata["data_type"] == "string":
                data_file.write_text(json.dumps([str(v) for v in np.asarray(data).ravel()]))
            else:
                little = np.dtype(metadata["data_type"]).newbyteorder("<")
                data_file.write_bytes(np.ascontiguousarray(data, dtype=little).tobytes())
            args = [path, "", metadata_file, data_file]
            if region is not None:
                args.append(",".join(f"{start}:{stop}" for start, stop in region))
            run_lcstore(ROUNDTRIP, "write", *args)

    def read(self, path, array_path=""):
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "data"
            metadata = json.loads(run_lcstore(ROUNDTRIP, "read", path, array_path, out))
            shape = tuple(metadata["shape"])
            if metadata["data_type"] == "string":
                return np.array(json.loads(out.read_text()), dtype=object).reshape(shape)
            little = np.dtype(metadata["data_type"]).newbyteorder("<")
            return np.frombuffer(out.read_bytes(), dtype=little).reshape(shape)

    def metadata(self, path, array_path=""):
        with tempfile.TemporaryDirectory() as scratch:
            return json.loads(run_lcstore(ROUNDTRIP, "read", path, array_path, Path(scratch) / "data"))


class ZarrPython:
    """zarr-python, with its own codec pipeline or with zarrs'."""

    def __init__(self, pipeline=None):
        self.pipeline = pipeline
        self.name = f"zarr-python-{zarr.__version__}" + ("+zarrs" if pipeline else "")

    def config(self):
        # strict: zarrs raises where it cannot do the work instead of silently
        # handing it to zarr-python's own pipeline.
        settings = {"codec_pipeline.path": self.pipeline, "codec_pipeline.strict": True} if self.pipeline else {}
        return zarr.config.set(settings)

    def write(self, path, metadata, data, region=None):
        with self.config():
            array = zarr.create(
                store=str(path),
                shape=tuple(metadata["shape"]),
                dtype=str if metadata["data_type"] == "string" else metadata["data_type"],
                chunk_shape=tuple(metadata["chunk_grid"]["configuration"]["chunk_shape"]),
                codecs=metadata["codecs"],
                fill_value=fill_value_of(metadata),
                dimension_names=metadata.get("dimension_names"),
                attributes=metadata.get("attributes", {}),
                chunk_key_encoding=metadata["chunk_key_encoding"],
                zarr_format=3,
                overwrite=True,
            )
            array[region_slices(region, array.shape)] = data

    def read(self, path, array_path=""):
        with self.config():
            array = zarr.open_array(store=str(path), path=array_path, mode="r")
            return array[...]

    def open(self, path, array_path=""):
        return zarr.open_array(store=str(path), path=array_path, mode="r")


class TensorStore:
    name = "tensorstore"

    def __init__(self, threads=None):
        import tensorstore

        self.ts = tensorstore
        self.context = {}
        if threads:
            limit = {"limit": threads}
            self.context = {"data_copy_concurrency": limit, "file_io_concurrency": limit}

    def spec(self, path, array_path=""):
        kvstore = {"driver": "file", "path": str(Path(path) / array_path) + "/"}
        return {"driver": "zarr3", "kvstore": kvstore, "context": self.context}

    def write(self, path, metadata, data, region=None):
        fields = {k: v for k, v in metadata.items() if k not in ("zarr_format", "node_type", "storage_transformers")}
        spec = {**self.spec(path), "metadata": fields, "create": True, "delete_existing": True}
        array = self.ts.open(spec).result()
        array[region_slices(region, metadata["shape"])].write(data).result()

    def open(self, path, array_path=""):
        return self.ts.open({**self.spec(path, array_path), "open": True}).result()

    def read(self, path, array_path=""):
        return self.open(path, array_path).read().result()


def available_peers():
    """The peers of this interpreter: zarr-python (3.0.6 when its folder is
    first on PYTHONPATH), and with the newest zarr-python also its zarrs
    pipeline and TensorStore, which do not depend on zarr-python's version."""
    peers = [ZarrPython()]
    if zarr.__version__ != "3.0.6":
        peers += [ZarrPython("zarrs.ZarrsCodecPipeline"), TensorStore()]
    return peers

