"""Groups with consolidated metadata in both directions, and a store with
lcstore's leftover lock and temporary files, which every peer still reads."""

import json

import numpy as np
import pytest
import zarr

from peers import CLI, ROUNDTRIP, Lcstore, available_peers, run_lcstore, same_content
from specs import array_metadata, bytes_codec, random_data, sharding

ATTRIBUTES = {"survey": "IRAC dark field", "epochs": [1, 2, 3], "nested": {"unit": "mag"}}
ARRAYS = {
    "flux": array_metadata([6, 5], "float32", [4, 4], [bytes_codec()], "NaN", dimension_names=["object", "epoch"], attributes={"units": "Jy"}),
    "sub/flags": array_metadata([7], "uint16", [4], [sharding([2], [bytes_codec("big")], "start")], 0, attributes={"bits": 16}),
}


def data_of(name):
    document = ARRAYS[name]
    return random_data(document["data_type"], document["shape"], seed=len(name))


def lcstore_group_tree(path, tmp_path):
    attributes = tmp_path / "attributes.json"
    attributes.write_text(json.dumps(ATTRIBUTES))
    run_lcstore(ROUNDTRIP, "group", path, "", attributes)
    attributes.write_text(json.dumps({"level": 1}))
    run_lcstore(ROUNDTRIP, "group", path, "sub", attributes)
    for name, document in ARRAYS.items():
        data_file = tmp_path / "data"
        data_file.write_bytes(np.ascontiguousarray(data_of(name), dtype=np.dtype(document["data_type"]).newbyteorder("<")).tobytes())
        metadata_file = tmp_path / "zarr.json"
        metadata_file.write_text(json.dumps(document))
        run_lcstore(ROUNDTRIP, "write", path, name, metadata_file, data_file)
    run_lcstore(ROUNDTRIP, "consolidate", path, "")


def test_zarr_python_reads_lcstore_consolidated_group(tmp_path):
    path = tmp_path / "tree.zarr"
    lcstore_group_tree(path, tmp_path)
    group = zarr.open_consolidated(str(path), mode="r")
    assert group.attrs.asdict() == ATTRIBUTES
    assert sorted(group.metadata.consolidated_metadata.flattened_metadata) == ["flux", "sub", "sub/flags"]
    assert group["sub"].attrs.asdict() == {"level": 1}
    for name, document in ARRAYS.items():
        array = group[name]
        assert array.attrs.asdict() == document["attributes"]
        assert same_content(array[...], data_of(name))


def test_lcstore_reads_zarr_python_consolidated_group(tmp_path):
    path = tmp_path / "tree.zarr"
    root = zarr.open_group(str(path), mode="w", attributes=ATTRIBUTES)
    root.create_group("sub", attributes={"level": 1})
    for name, document in ARRAYS.items():
        array = zarr.create(
            store=str(path), path=name, shape=document["shape"], dtype=document["data_type"],
            chunk_shape=document["chunk_grid"]["configuration"]["chunk_shape"], codecs=document["codecs"],
            fill_value=np.nan if document["fill_value"] == "NaN" else document["fill_value"],
            attributes=document["attributes"], dimension_names=document.get("dimension_names"), zarr_format=3,
        )
        array[...] = data_of(name)
    zarr.consolidate_metadata(str(path))
    root_document = json.loads((path / "zarr.json").read_text())
    assert root_document["consolidated_metadata"]["metadata"].keys() == {"flux", "sub", "sub/flags"}
    for name, document in ARRAYS.items():
        assert same_content(Lcstore().read(path, name), data_of(name))
        assert Lcstore().metadata(path, name)["attributes"] == document["attributes"]
    info = json.loads(run_lcstore(CLI, "zarr", "info", path))
    assert info["attributes"] == ATTRIBUTES


@pytest.mark.parametrize("peer", available_peers(), ids=lambda p: p.name)
def test_peers_read_a_store_with_leftover_lock_and_temporary_files(tmp_path, peer):
    path = tmp_path / "tree.zarr"
    lcstore_group_tree(path, tmp_path)
    locks = sorted(p.relative_to(path).as_posix() for p in path.rglob(".lcstore.lock"))
    assert locks, "lcstore left no lock file to test with"
    # What a writer killed before its rename leaves: temporary files beside
    # chunks and metadata.
    chunk = next(p for p in (path / "flux" / "c").rglob("*") if p.is_file())
    (chunk.parent / f".{chunk.name}.lcstore-tmp.4242.1").write_bytes(b"partial chunk")
    (path / ".zarr.json.lcstore-tmp.4242.2").write_text('{"zarr_format": 3, "node_ty')
    for name in ARRAYS:
        assert same_content(peer.read(path, name), data_of(name)), f"{peer.name} {name}"
    group = zarr.open_group(str(path), mode="r", use_consolidated=False)
    assert sorted(name for name, _ in group.members(max_depth=None)) == ["flux", "sub", "sub/flags"]
