"""Opening a run file without trusting it: the zip directory, then the pickle, then tensors.

Not the meaning of the fields (explorer/checkpoint.py checks those against a fresh run). Nothing
here allocates more than the file's own size before the caller has checked every tensor's shape:
the zip directory is read first (known entry names only, stored uncompressed, sizes within twice
the file's), the pickle is read by an unpickler that knows dicts, lists, plain values and dense
tensors only and builds no tensor (each becomes a TensorRef: dtype, shape, stride, storage entry),
and a tensor is made from its entry only when the caller asks, after its checks.
"""
from __future__ import annotations

import collections
import io
import math
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from explorer.config import LIMITS

BYTES_PER_SERIES_POINT = 10  # a float in the pickle: 9 bytes (BINFLOAT), plus list framing
# the pickle holds the config, the history's series and small metadata; every array is a tensor entry
MAX_PICKLE_BYTES = 5 * LIMITS.max_history * BYTES_PER_SERIES_POINT + 2**18
MAX_META_BYTES = 64  # byteorder, version, .format_version, .storage_alignment, .data/serialization_id
MAX_ENTRIES = 4_096  # a run file at the caps holds a few hundred
MAX_EXPANSION = 2  # the entries together may hold at most this many times the file's size
META_NAMES = {"byteorder", "version", ".format_version", ".storage_alignment", ".data/serialization_id", ".data/version"}
_STORAGE = re.compile(r"data/(\d{1,9})")
_PREFIX = re.compile(r"[^/\x00-\x1f]{1,255}")  # torch.save names the folder after the file: any one name
DTYPES = {  # torch.save names a storage by its legacy typed class
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}


@dataclass(frozen=True)
class TensorRef:
    """A tensor as the pickle describes it; nothing allocated yet."""

    key: str  # the storage entry data/<key>
    dtype: torch.dtype
    storage_numel: int
    offset: int
    shape: tuple
    stride: tuple

    def describe(self) -> str:
        return f"a {str(self.dtype).removeprefix('torch.')} tensor of shape {tuple(self.shape)}"


class _Refused(ValueError):
    """Our own reason to refuse what the pickle holds; any other error while unpickling is Python's, not shown."""


def _tensor_ref(storage, offset, shape, stride, requires_grad=False, hooks=None, metadata=None) -> TensorRef:
    """Stands in for torch._utils._rebuild_tensor_v2 (the only way a dense tensor is pickled)."""
    if not isinstance(storage, tuple) or hooks or metadata or requires_grad is not False:
        raise _Refused("a tensor with hooks, metadata or gradients")
    if not all(type(n) is int for n in (offset, *shape, *stride)) or len(shape) != len(stride):
        raise _Refused("a tensor with a malformed shape")
    key, dtype, numel = storage
    return TensorRef(key, dtype, numel, offset, tuple(shape), tuple(stride))


class _Unpickler(pickle._Unpickler):
    """Knows OrderedDict, dense tensors (as TensorRef) and storages; any other global is refused.

    Python's own unpickler, not the C one: the C memo is an array sized by the largest index a
    pickle names, so ten bytes (LONG_BINPUT 2**28) would allocate 4 GB; here it is a dict."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor_ref
        if module == "torch" and name in DTYPES:
            return DTYPES[name]
        raise _Refused(f"it holds an object this app never saves ({module[:40]}.{name[:40]})")

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage" or not isinstance(pid[1], torch.dtype)
                or not isinstance(pid[2], str) or not _STORAGE.fullmatch(f"data/{pid[2]}") or type(pid[4]) is not int):
            raise _Refused("it holds a malformed storage reference")
        return pid[2], pid[1], pid[4]


class RunFile:
    """An opened run file whose directory has been checked. read_state() -> the pickled dict with
    TensorRefs in place of tensors; tensor(ref) -> the tensor, once the caller has checked ref.
    A context manager: a file it opened from a path is closed at the end (a path is never read whole)."""

    def __init__(self, source: str | Path | BinaryIO | bytes) -> None:
        self._file, self._owned = _open(source)
        try:
            size = self._file.seek(0, io.SEEK_END)
            _check_end_record(self._file, size)
            try:
                self._zip = zipfile.ZipFile(self._file)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
                raise ValueError(f"not an RNN Explorer run file, or a damaged one (zip: {type(error).__name__})") from None
            self._entries = _check_directory(self._zip.infolist(), size)
            if self._read("byteorder", MAX_META_BYTES) != b"little":
                raise ValueError("run file is not little-endian")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "RunFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._file.close()

    def read_state(self):
        data = self._read("data.pkl", MAX_PICKLE_BYTES)
        try:
            return _Unpickler(io.BytesIO(data)).load()
        except _Refused as error:
            raise ValueError(f"not an RNN Explorer run file: {error}") from None
        except Exception as error:  # a malformed pickle: truncated, bad opcode or literal, a call with wrong arguments
            # Python's own words would echo the file's bytes ("invalid literal for int() ...: b'...'"): its type only
            raise ValueError(f"not an RNN Explorer run file, or a damaged one ({type(error).__name__})") from None

    def storage_sizes(self) -> dict[str, int]:
        """Storage key -> bytes its entry holds, from the directory (nothing read)."""
        return {name[5:]: info.file_size for name, info in self._entries.items() if _STORAGE.fullmatch(name)}

    def tensor(self, ref: TensorRef) -> torch.Tensor:
        """ref's tensor, read from its entry. Call only after checking ref's shape, dtype and stride."""
        name, expected = f"data/{ref.key}", ref.storage_numel * itemsize(ref.dtype)
        data = self._read(name, expected)
        if len(data) != expected:
            raise ValueError(f"run file entry {name} holds {len(data):,} bytes, not {expected:,}")
        flat = torch.frombuffer(bytearray(data), dtype=ref.dtype) if data else torch.empty(0, dtype=ref.dtype)
        return flat.as_strided(ref.shape, ref.stride, ref.offset)

    def _read(self, name: str, limit: int) -> bytes:
        info = self._entries.get(name)
        if info is None:
            raise ValueError(f"run file has no entry {name}")
        if info.file_size > limit:
            raise ValueError(f"run file entry {name} holds {info.file_size:,} bytes; at most {limit:,} are allowed")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise ValueError(f"run file entry {name} is damaged ({type(error).__name__})") from None


def _open(source) -> tuple[BinaryIO, bool]:
    """-> (a seekable binary file, whether we opened it and so close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, (str, Path)):
        try:
            return open(source, "rb"), True
        except OSError as error:
            raise ValueError(f"cannot read {str(source)[:200]}: {error.strerror or type(error).__name__}") from None
    if hasattr(source, "read") and hasattr(source, "seek"):
        return source, False
    raise ValueError(f"a run file is a path, bytes or a binary file; got {type(source).__name__}")


def _check_end_record(file: BinaryIO, size: int) -> None:
    """Before zipfile parses the directory: a bounded number of entries in a bounded directory."""
    try:
        end = zipfile._EndRecData(file)  # the same reading of the end record that ZipFile makes
    except (OSError, ValueError, EOFError):
        end = None
    if not end:
        raise ValueError("not an RNN Explorer run file, or a damaged one (no zip directory)")
    entries, directory = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    if entries > MAX_ENTRIES or directory > min(size, MAX_ENTRIES * 512):
        raise ValueError(f"run file lists {entries:,} entries in {directory:,} bytes; at most {MAX_ENTRIES:,} are allowed")
    file.seek(0)


def _check_directory(infos: list[zipfile.ZipInfo], size: int) -> dict[str, zipfile.ZipInfo]:
    """Known names under one folder, stored uncompressed, no name twice, sizes within the file."""
    prefixes = {info.filename.split("/", 1)[0] for info in infos}
    if len(prefixes) != 1 or not _PREFIX.fullmatch(next(iter(prefixes))):
        raise ValueError("not an RNN Explorer run file (its entries are not in one folder)")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename.split("/", 1)[1] if "/" in info.filename else ""
        if name in entries:
            raise ValueError(f"run file has two entries named {name[:80]!r}")
        if name != "data.pkl" and name not in META_NAMES and not _STORAGE.fullmatch(name):
            raise ValueError(f"run file has an unknown entry {name[:80]!r}")
        if name in META_NAMES and info.file_size > MAX_META_BYTES:
            raise ValueError(f"run file entry {name} holds {info.file_size:,} bytes; at most {MAX_META_BYTES} are allowed")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise ValueError(f"run file entry {name[:80]!r} is compressed; run files store every entry as it is")
        entries[name] = info
    total = sum(info.file_size for info in infos)
    if total > MAX_EXPANSION * size:
        raise ValueError(f"run file entries hold {total:,} bytes, more than {MAX_EXPANSION} x its {size:,} bytes")
    if "data.pkl" not in entries or "byteorder" not in entries:
        raise ValueError("not an RNN Explorer run file (no data.pkl or byteorder entry)")
    return entries


def itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def contiguous_stride(shape: tuple) -> tuple:
    stride, step = [], 1
    for n in reversed(shape):
        stride.append(step)
        step *= max(n, 1)
    return tuple(reversed(stride))


def numel(shape: tuple) -> int:
    return math.prod(shape)
