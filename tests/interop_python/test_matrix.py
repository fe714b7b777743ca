"""Both directions between lcstore and each peer: an array written by one is
read back exactly (bit for bit) by the other, for generated arrays (hypothesis,
fixed seed, bounded examples) and named corner cases."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from peers import Lcstore, ZarrPython, available_peers, expected_array, same_content
from specs import CORNER_CASES, array_cases, limitation_of

PEERS = available_peers()
LCSTORE = Lcstore()
EXAMPLES = int(os.environ.get("LCSTORE_INTEROP_EXAMPLES", "30"))
DIRECTIONS = ["lcstore-to-peer", "peer-to-lcstore"]


def dimension_names(names):
    """Names with every one null mean no names (TensorStore then writes none)."""
    return None if names is None or all(name is None for name in names) else list(names)


def round_trip(tmp_path, direction, peer, case):
    metadata, data, region = case
    writer, reader = (LCSTORE, peer) if direction == "lcstore-to-peer" else (peer, LCSTORE)
    path = tmp_path / "array.zarr"
    writer.write(path, metadata, data, region)
    actual = reader.read(path)
    expected = expected_array(metadata, data, region)
    assert same_content(actual, expected), f"{writer.name} -> {reader.name}: {json.dumps(metadata)}"
    if direction == "peer-to-lcstore":
        read_metadata = LCSTORE.metadata(path)
        assert dimension_names(read_metadata.get("dimension_names")) == dimension_names(metadata.get("dimension_names"))
        assert read_metadata.get("attributes", {}) == metadata.get("attributes", {})
    elif isinstance(peer, ZarrPython):
        opened = peer.open(path)
        assert dimension_names(opened.metadata.dimension_names) == dimension_names(metadata.get("dimension_names"))
        assert opened.attrs.asdict() == metadata.get("attributes", {})


def check_or_expect_failure(tmp_path, direction, peer, case):
    limitation = limitation_of(peer.name, direction, case[0])
    if limitation is None:
        round_trip(tmp_path, direction, peer, case)
        return
    if limitation.unsupported:
        pytest.skip(f"{peer.name} does not support this: {limitation.reason}")
    # A known peer bug: the round trip must still fail, so the test turns red
    # once the peer is fixed and the limitation can be removed.
    with pytest.raises(limitation.fails_with):
        round_trip(tmp_path, direction, peer, case)


@pytest.mark.parametrize("peer", PEERS, ids=lambda p: p.name)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("name", sorted(CORNER_CASES))
def test_corner_case(tmp_path, direction, peer, name):
    check_or_expect_failure(tmp_path, direction, peer, CORNER_CASES[name]())


@pytest.mark.parametrize("peer", PEERS, ids=lambda p: p.name)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_generated_arrays(tmp_path_factory, direction, peer):
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=array_cases(peer.name, direction))
    def check(case):
        round_trip(tmp_path_factory.mktemp("case"), direction, peer, case)

    check()
