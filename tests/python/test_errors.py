"""Bad input: a clear exception naming what and where, and the store unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import lcstore
from conftest import synthetic_catalog


@pytest.fixture
def store(tmp_path):
    store = lcstore.create(tmp_path / "s", synthetic_catalog(20, 0), ["a", "b"], object_chunk=8)
    store.populate("a", synthetic_catalog(20, 0))
    return store


def unchanged(store, before):
    np.testing.assert_array_equal(store.lightcurves(store.objects), before)


def test_an_unknown_object_is_a_key_error_naming_it(store):
    with pytest.raises(lcstore.NotFoundError) as raised:
        store.lightcurves(["3", "no-such-object"])
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, lcstore.Error)
    assert raised.value.subject == "no-such-object" and raised.value.reason
    assert str(raised.value) == f"{raised.value.subject}: {raised.value.reason}"
    with pytest.raises(KeyError):
        store.lightcurve("no-such-object")


def test_unknown_epochs_and_measurements_are_not_found(store):
    before = store.lightcurves(store.objects)
    with pytest.raises(lcstore.NotFoundError, match="zz"):
        store.populate("zz", synthetic_catalog(20, 1))
    with pytest.raises(lcstore.NotFoundError, match="zz"):
        store.epoch("zz")
    with pytest.raises(lcstore.NotFoundError, match="nope"):
        store.lightcurves(["1"], measurement="nope")
    unchanged(store, before)


def test_a_catalog_with_an_unknown_object_writes_nothing(store):
    before = store.lightcurves(store.objects)
    catalog = synthetic_catalog(21, 1)  # object "20" is not in the store
    with pytest.raises(lcstore.BadInputError, match="20"):
        store.populate("b", catalog)
    unchanged(store, before)
    report = store.populate("b", catalog, skip_unknown_objects=True)
    assert report.unknown_objects_skipped == 1 and report.objects_written == 20


def test_a_table_missing_columns_is_bad_input_and_writes_nothing(store):
    before = store.lightcurves(store.objects)
    catalog = synthetic_catalog(20, 1)
    del catalog["magerr_iso"]
    with pytest.raises(lcstore.BadInputError, match="iso") as raised:
        store.populate("b", catalog)
    assert isinstance(raised.value, ValueError)
    no_key = synthetic_catalog(20, 1)
    del no_key["id"]
    with pytest.raises(lcstore.BadInputError):
        store.populate("b", no_key)
    unchanged(store, before)


def test_wrong_types_are_invalid_arguments(store, tmp_path):
    with pytest.raises(lcstore.InvalidArgumentError, match="int"):
        store.populate("b", 42)
    with pytest.raises(lcstore.InvalidArgumentError):
        store.lightcurves("1")
    with pytest.raises(lcstore.InvalidArgumentError):
        store.lightcurve(1)
    with pytest.raises(lcstore.InvalidArgumentError, match="strategy"):
        store.populate("b", synthetic_catalog(20, 1), strategy="v9")
    with pytest.raises(lcstore.InvalidArgumentError):
        store.region(ra=5, dec=(0, 1))
    with pytest.raises(lcstore.InvalidArgumentError, match="mode"):
        lcstore.open(store.path, mode="w")
    with pytest.raises(lcstore.InvalidArgumentError):
        lcstore.create(tmp_path / "t", synthetic_catalog(5, 0), "abc")
    with pytest.raises(lcstore.BadInputError, match="cells of type"):
        store.populate("b", {"id": np.arange(3), "mag_auto": np.array([1j, 2j, 3j])})


def test_a_read_only_store_refuses_writes(store):
    reader = lcstore.open(store.path)
    before = reader.lightcurves(reader.objects)
    with pytest.raises(lcstore.ReadOnlyError) as raised:
        reader.populate("b", synthetic_catalog(20, 1))
    assert isinstance(raised.value, PermissionError) and raised.value.subject == store.path
    with pytest.raises(lcstore.ReadOnlyError):
        reader.rechunk()
    unchanged(store, before)


def test_a_closed_store_says_so(store):
    with lcstore.open(store.path) as reader:
        reader.objects
    with pytest.raises(lcstore.ClosedStoreError, match="closed"):
        reader.lightcurves(["1"])
    assert "closed" in repr(reader)


def test_opening_nothing_and_creating_twice(tmp_path, store):
    with pytest.raises(lcstore.NotFoundError) as raised:
        lcstore.open(tmp_path / "missing")
    assert raised.value.subject == str(tmp_path / "missing")
    with pytest.raises(lcstore.InvalidArgumentError):
        lcstore.create(store.path, synthetic_catalog(5, 0), ["a"])
    with pytest.raises(lcstore.StorageIOError) as raised:
        lcstore.read_catalog(tmp_path / "missing.cat")
    assert isinstance(raised.value, OSError)


def test_errors_pickle_with_their_fields():
    import pickle

    error = pickle.loads(pickle.dumps(lcstore.CorruptDataError("lightcurves/c/0/0/0/0", "bad checksum")))
    assert type(error) is lcstore.CorruptDataError and error.subject == "lightcurves/c/0/0/0/0"
    assert str(error) == "lightcurves/c/0/0/0/0: bad checksum" and error.errno is None
