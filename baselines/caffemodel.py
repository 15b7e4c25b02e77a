"""Read the trained weights of a Caffe network from its ``.caffemodel`` file, without Caffe.

A ``.caffemodel`` is a serialised ``caffe.NetParameter`` protocol buffer (Caffe's
``src/caffe/proto/caffe.proto``). Only the wire format is decoded here, by a reader of our own:
varints, length-delimited fields and packed floats. Nothing in the file is executed or interpreted
beyond the fields listed below, and every length is checked against the bytes that remain, so a
truncated or garbage file is a one-line :class:`~dbdbench.errors.DbdError`, never a crash.

Fields read (field numbers from ``caffe.proto``):

- ``NetParameter``: ``layer`` (100, ``LayerParameter``) and the older ``layers`` (2,
  ``V1LayerParameter``).
- ``LayerParameter``: ``name`` (1), ``type`` (2, a string), ``blobs`` (7).
- ``V1LayerParameter``: ``name`` (4), ``type`` (5, an enum, kept as its number), ``blobs`` (6).
- ``BlobProto``: ``num`` / ``channels`` / ``height`` / ``width`` (1-4, the legacy 4-D shape),
  ``data`` (5, float, packed or not), ``shape`` (7, ``BlobShape`` with ``dim`` = 1, int64),
  ``double_data`` (8).

:func:`read_weights` checks the result against an expected architecture (layer names and blob
shapes) and refuses any other network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dbdbench.errors import DbdError

# Larger files are not a network of the kind read here; refusing them bounds the memory used.
MAX_BYTES = 512 * 2**20


class _Malformed(Exception):
    """The bytes do not decode as a protocol buffer (turned into a DbdError naming the file)."""


@dataclass(frozen=True)
class Layer:
    """One layer of a decoded network.

    Attributes
    ----------
    name : str
    type : str
        Type string (``"Convolution"``), or ``"V1:<number>"`` for the enum of the old format.
    blobs : tuple of ndarray
        Learned parameters, float32, in the blob's shape (weights first, then the bias).
    """

    name: str
    type: str
    blobs: tuple[np.ndarray, ...]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed("a number runs past the end")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise _Malformed("a number is longer than 10 bytes")


def _fields(buf: bytes):
    """Yield ``(field number, wire type, value)``; value is an int or a bytes slice."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _Malformed("a 64-bit value runs past the end")
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise _Malformed("a field runs past the end")
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            if pos + 4 > len(buf):
                raise _Malformed("a 32-bit value runs past the end")
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise _Malformed(f"unknown wire type {wire}")
        yield number, wire, value


def _text(value) -> str:
    if not isinstance(value, bytes):
        raise _Malformed("a name is not a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed("a name is not UTF-8") from exc


def _blob(buf: bytes) -> np.ndarray:
    legacy = {}
    dims: list[int] = []
    chunks: list[np.ndarray] = []
    doubles: list[np.ndarray] = []
    for number, wire, value in _fields(buf):
        if number in (1, 2, 3, 4) and wire == 0:
            legacy[number] = value
        elif number == 5 and wire == 2:
            if len(value) % 4:
                raise _Malformed("packed float data of a length not divisible by 4")
            chunks.append(np.frombuffer(value, dtype="<f4"))
        elif number == 5 and wire == 5:
            chunks.append(np.frombuffer(value, dtype="<f4"))
        elif number == 8 and wire == 2:
            if len(value) % 8:
                raise _Malformed("packed double data of a length not divisible by 8")
            doubles.append(np.frombuffer(value, dtype="<f8"))
        elif number == 7 and wire == 2:
            for n, w, v in _fields(value):
                if n != 1:
                    continue
                if w == 0:
                    dims.append(v)
                elif w == 2:
                    pos = 0
                    while pos < len(v):
                        d, pos = _varint(v, pos)
                        dims.append(d)
    if not dims:
        dims = [legacy.get(k, 1) for k in (1, 2, 3, 4)]
    data = np.concatenate(chunks) if chunks else np.concatenate(doubles) if doubles else np.zeros(0)
    if int(np.prod(dims, dtype=np.float64)) != data.size:
        raise _Malformed(f"a blob of shape {tuple(dims)} holds {data.size} values")
    return data.astype(np.float32).reshape(dims)


def _layer(buf: bytes, v1: bool) -> Layer:
    name_field, type_field, blob_field = (4, 5, 6) if v1 else (1, 2, 7)
    name, kind, blobs = "", "", []
    for number, wire, value in _fields(buf):
        if number == name_field and wire == 2:
            name = _text(value)
        elif number == type_field:
            kind = f"V1:{value}" if v1 and wire == 0 else _text(value)
        elif number == blob_field and wire == 2:
            blobs.append(_blob(value))
    return Layer(name, kind, tuple(blobs))


def parse_net(data: bytes) -> list[Layer]:
    """Decode the layers of a serialised ``NetParameter``.

    Parameters
    ----------
    data : bytes
        Contents of a ``.caffemodel`` file.

    Returns
    -------
    list of Layer
        In file order, both ``layer`` and ``layers`` entries.

    Raises
    ------
    ValueError
        The bytes are not a protocol buffer of this form (the message says where it broke).
    """
    try:
        layers = []
        for number, wire, value in _fields(data):
            if number in (2, 100) and wire == 2:
                layers.append(_layer(value, v1=number == 2))
        return layers
    except _Malformed as exc:
        raise ValueError(str(exc)) from None


def read_weights(
    path: str | Path, expected: Mapping[str, tuple[tuple[int, ...], ...]], *, network: str, release: str
) -> dict[str, tuple[np.ndarray, ...]]:
    """The learned blobs of the layers named in ``expected``, checked against their shapes.

    Parameters
    ----------
    path : str or Path
        The ``.caffemodel`` file.
    expected : mapping of str to tuple of shapes
        Layer name -> the shape of each of its blobs (weights, bias). A blob given in the legacy
        4-D form with leading ones (``1 x 1 x out x in`` for an inner product) is accepted and
        reshaped.
    network : str
        Name of the network in messages (``"DHDE"``).
    release : str
        What to download, for the messages (the authors' release and file name).

    Returns
    -------
    dict of str to tuple of ndarray
        Layer name -> its blobs, float32, in the expected shapes.

    Raises
    ------
    DbdError
        Missing or unreadable file, a file that is not a ``.caffemodel``, truncated, or a network
        other than the expected one (a missing layer or a blob of another shape).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DbdError(f"weights file '{path}' does not exist; download {release}")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise DbdError(
            f"weights file '{path}' is {size} bytes, too large for the {network} network; give {release}"
        )
    try:
        layers = parse_net(p.read_bytes())
    except OSError as exc:
        raise DbdError(f"cannot read weights file '{path}': {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DbdError(
            f"weights file '{path}' is not a Caffe .caffemodel ({exc}: truncated or another format); "
            f"give {release}"
        ) from None
    found = {layer.name: layer for layer in layers if layer.blobs}
    out = {}
    for name, shapes in expected.items():
        layer = found.get(name)
        if layer is None:
            raise DbdError(
                f"weights file '{path}' has no trained layer '{name}': not the {network} network; "
                f"give {release}"
            )
        if len(layer.blobs) != len(shapes):
            raise DbdError(
                f"weights file '{path}': layer '{name}' has {len(layer.blobs)} blobs, the {network} network "
                f"has {len(shapes)}; give {release}"
            )
        blobs = []
        for blob, shape in zip(layer.blobs, shapes, strict=True):
            squeezed = blob.shape
            while len(squeezed) > len(shape) and squeezed[0] == 1:
                squeezed = squeezed[1:]
            if tuple(squeezed) != tuple(shape):
                raise DbdError(
                    f"weights file '{path}': layer '{name}' has a blob of shape {blob.shape}, the {network} "
                    f"network expects {shape}: another release or network; give {release}"
                )
            blobs.append(np.ascontiguousarray(blob.reshape(shape)))
        out[name] = tuple(blobs)
    return out
