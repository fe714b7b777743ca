"""Catalog tables between Python and the engine.

A catalog given in memory may be an astropy ``Table``, a pandas
``DataFrame`` or a mapping of column name to sequence; each becomes the
engine's table with the same column names. Vector columns (astropy's
``MAG_APER`` of shape (n, 4)) are expanded as astropy writes them:
``MAG_APER``, ``MAG_APER_1``, ``MAG_APER_2``, ``MAG_APER_3``.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Mapping

import numpy as np

from . import _lcstore
from .errors import BadInputError, InvalidArgumentError

PathLike = str | os.PathLike


def is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def _columns(table: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(table, "colnames"):  # astropy Table
        for name in table.colnames:
            yield name, table[name]
    elif hasattr(table, "columns") and hasattr(table, "to_numpy"):  # pandas DataFrame
        for name in table.columns:
            yield str(name), table[name].to_numpy()
    elif isinstance(table, Mapping):
        yield from ((str(name), cells) for name, cells in table.items())
    else:
        raise InvalidArgumentError(
            type(table).__name__, "is not a catalog: give a path, an astropy Table, a pandas DataFrame or a dict of arrays"
        )


def _cells(name: str, cells: Any) -> np.ndarray:
    mask = getattr(cells, "mask", None)
    array = np.asarray(cells)
    if mask is not None and np.any(mask):
        if array.dtype.kind != "f":
            raise BadInputError(name, "has masked cells; only real columns may have them (they become NaN)")
        array = np.where(np.asarray(mask), np.nan, array)
    return array


def _add_column(table: Any, name: str, array: np.ndarray) -> None:
    kind = array.dtype.kind
    if kind in "iub":
        table.add_column(name, np.ascontiguousarray(array, dtype=np.int64))
    elif kind == "f":
        dtype = np.float32 if array.dtype.itemsize == 4 else np.float64
        table.add_column(name, np.ascontiguousarray(array, dtype=dtype))
    elif kind in "USO":
        strings = [cell.decode() if isinstance(cell, bytes) else str(cell) for cell in array.tolist()]
        table.add_column(name, strings)
    else:
        raise BadInputError(name, f"has cells of type {array.dtype}, which is not a number or a string")


def to_native(table: Any, source: str = "") -> _lcstore.Table:
    """The engine's table holding a copy of an in-memory catalog's columns."""
    if isinstance(table, _lcstore.Table):
        return table
    native = _lcstore.Table(source or f"<{type(table).__name__}>")
    for name, cells in _columns(table):
        array = _cells(name, cells)
        if array.ndim == 1:
            _add_column(native, name, array)
        elif array.ndim == 2:
            for index in range(array.shape[1]):
                _add_column(native, name if index == 0 else f"{name}_{index}", array[:, index])
        else:
            raise BadInputError(name, f"has {array.ndim} dimensions; a catalog column has one (or two for a vector)")
    return native


def load(catalog: Any, invalid_to_nan: bool = False) -> _lcstore.Table:
    """The engine's table of a catalog file or an in-memory catalog."""
    if is_path(catalog):
        return _lcstore.read_catalog(os.fspath(catalog), invalid_to_nan)[1]
    if invalid_to_nan:
        raise InvalidArgumentError("invalid_to_nan", "applies to catalog files only")
    return to_native(catalog)


def read_catalog(path: PathLike, *, invalid_to_nan: bool = False, astropy: bool = False) -> Any:
    """Reads a SExtractor catalog (ASCII_HEAD, FITS_1.0, FITS_LDAC), ECSV or CSV file.

    The format is recognised from the content. Returns a dict of column name
    to numpy array (strings as lists), in the file's column order, or an
    astropy ``Table`` when ``astropy=True``; its ``meta["format"]`` names the
    format. With ``invalid_to_nan``, SExtractor's 99.0 "no measurement"
    magnitudes and their errors become NaN.

    Raises :class:`~lcstore.errors.StorageIOError` if the file cannot be read
    and :class:`~lcstore.errors.BadInputError` naming the line and column for
    malformed content.
    """
    file_format, native = _lcstore.read_catalog(os.fspath(path), invalid_to_nan)
    columns = {name: native.column(name) for name in native.column_names}
    if not astropy:
        return columns
    from astropy.table import Table

    return Table(columns, meta={"format": file_format, "source": os.fspath(path)})
