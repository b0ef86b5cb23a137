"""Read pickles of plain data (numpy arrays, numbers, strings, containers) without running their code.

Official checkpoints of some families are pickles (DreamerV3's ``agent.pkl``).
``pickle.load`` imports and calls whatever a file names, so an untrusted file
could run anything. :func:`load` admits only the few numpy globals that
rebuild arrays, dtypes and scalars (and ``ml_dtypes`` numeric types); any other
global is refused in ``find_class``, before it is imported or called.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import importlib
import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

from worldflux.errors import WorldFluxError

ML_DTYPES = ("bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
             "float8_e5m2fnuz", "int4", "uint4")


class UnsafePickleError(WorldFluxError):
    """A pickle names a global outside the allow-list (it would import or run code), or holds object arrays."""


def _numpy_globals() -> dict[tuple[str, str], Any]:
    import numpy

    core = getattr(numpy, "_core", None) or numpy.core  # numpy 2 / numpy 1
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): numpy.ndarray, ("numpy", "dtype"): numpy.dtype,
                                           ("collections", "OrderedDict"): collections.OrderedDict,
                                           ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
                                           ("builtins", "complex"): complex,
                                           ("_codecs", "encode"): codecs.encode}  # bytes in protocol 2
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # files from either numpy major
        allowed[(module, "_reconstruct")] = core.multiarray._reconstruct
        allowed[(module, "scalar")] = core.multiarray.scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):  # arrays in protocol 5
        allowed[(module, "_frombuffer")] = core.numeric._frombuffer
    return allowed


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, source: str) -> None:
        super().__init__(file)
        self.source = source
        self.allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        # Python 2 names (protocols 0-2), as pickle's own find_class maps them
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        if module == "ml_dtypes" and name in ML_DTYPES:
            try:
                return getattr(importlib.import_module("ml_dtypes"), name)
            except ImportError:
                raise UnsafePickleError(f"{self.source} holds {name} arrays; install ml_dtypes to read them "
                                        f"(pip install ml_dtypes).") from None
        raise UnsafePickleError(
            f"{self.source} refers to {module}.{name}, which is not plain array data: loading it could run code, "
            f"so it was refused. Only numpy arrays, numbers, strings and containers are read. If you trust the "
            f"file, inspect it with pickletools; otherwise obtain the checkpoint from its original source.")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source} uses persistent ids ({pid!r}), which plain data never needs.")


def _check_arrays(obj: Any, source: str) -> None:
    """Refuse object arrays: their items would not be plain data the caller can trust to be numbers."""
    import numpy

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, numpy.ndarray) and item.dtype.hasobject:
            raise UnsafePickleError(f"{source} holds an object array (dtype {item.dtype}); only numeric, bool and "
                                    f"string arrays are read.")


def loads(data: bytes, source: str = "the pickle") -> Any:
    """Unpickle ``data`` admitting only plain data; raises :class:`UnsafePickleError` naming any refused global."""
    try:
        obj = _Unpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # truncated or malformed streams raise many types
        raise WorldFluxError(f"{source} is not a readable pickle ({type(exc).__name__}: {exc}).") from exc
    _check_arrays(obj, source)
    return obj


def load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` admitting only plain data (see :func:`loads`)."""
    path = Path(path).expanduser()
    return loads(path.read_bytes(), str(path))
