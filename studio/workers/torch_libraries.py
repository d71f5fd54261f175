"""PyTorch's native libraries loaded without holding the interpreter, so importing torch on a worker thread does
not freeze the window.

``import torch`` loads a few hundred MB of shared libraries (on a CUDA build: libtorch_cuda, cuDNN, cuBLAS...).
Python loads an extension module and ctypes loads a library while holding the GIL, so the window's thread could
not run for 0.2-1.2 s at a time while a search or a training job imported torch in the background. A call to the
C library's ``dlopen`` through ctypes releases the GIL for its duration, and a library that is already loaded is
not loaded again. So the first import of torch in this process first loads the same libraries, in the order torch
loads them, through that call; the import then only runs Python code, which lets the window's thread in every few
milliseconds.

Only Linux: that is where the CUDA build's libraries make the stall (macOS and Windows load theirs their own way).
Anything unexpected leaves the import to torch, as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

# In the order torch loads them: its global dependencies (the CUDA runtime libraries, loaded RTLD_GLOBAL as torch
# does), then the library behind torch._C, which pulls in libtorch, libtorch_cpu, libtorch_cuda and c10.
GLOBAL_DEPENDENCIES = "libtorch_global_deps.so"
EXTENSION_LIBRARY = "libtorch_python.so"


def torch_library_folder() -> Path | None:
    """Where an installed torch keeps its shared libraries, found without importing torch."""
    spec = importlib.machinery.PathFinder.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "lib"
    return folder if folder.is_dir() else None


def _dlopen() -> Callable[[bytes, int], int | None] | None:
    """The C library's dlopen as a foreign function: ctypes releases the GIL while a foreign function runs."""
    for name in (None, ctypes.util.find_library("dl")):
        try:
            function = ctypes.CDLL(name).dlopen
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_char_p, ctypes.c_int]
        return function  # type: ignore[no-any-return]
    return None


def load_without_interpreter_lock(paths: Sequence[tuple[Path, int]]) -> int:
    """Load each (library, dlopen flags) in turn with the GIL released; the number that loaded."""
    dlopen = _dlopen()
    if dlopen is None:
        return 0
    loaded = 0
    for path, flags in paths:
        if path.exists() and dlopen(os.fsencode(path), flags):
            loaded += 1
    return loaded


class TorchLibraryPreloader(importlib.abc.MetaPathFinder):
    """Sees the first ``import torch`` made on a worker thread, loads torch's libraries first, then lets the
    normal finders import it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = False
        self.loaded = 0

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        # Not on the main thread: there the wait for dlopen would be the window's own (a page asking whether torch
        # is installed comes through here too), and an import there holds the window anyway.
        if fullname == "torch" and not self.done and threading.current_thread() is not threading.main_thread():
            self.preload()
        return None

    def preload(self) -> None:
        with self._lock:
            if self.done:
                return
            self.done = True
            folder = torch_library_folder()
            if folder is None:
                return
            self.loaded = load_without_interpreter_lock([
                (folder / GLOBAL_DEPENDENCIES, os.RTLD_NOW | os.RTLD_GLOBAL),
                (folder / EXTENSION_LIBRARY, os.RTLD_NOW | os.RTLD_LOCAL),
            ])


def install() -> TorchLibraryPreloader | None:
    """Put the preloader in front of the import system, once; None where it does nothing (not Linux, or torch
    is already imported)."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return None
    for finder in sys.meta_path:
        if isinstance(finder, TorchLibraryPreloader):
            return finder
    preloader = TorchLibraryPreloader()
    sys.meta_path.insert(0, preloader)
    return preloader
