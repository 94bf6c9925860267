"""Numba code generation settings shared by every kernel.

LLVM tunes AVX-512 server cores to prefer 256-bit vectors (to dodge the
frequency licence of 512-bit code on early parts). A benchmark that must show
what the vector units deliver wants the full width, so on an AVX-512 host the
kernels are compiled with ``-prefer-256-bit``, as ``-mprefer-vector-width=512``
does for C. A user's own ``NUMBA_CPU_FEATURES`` (or ``NUMBA_CPU_NAME``) always
wins. Import this module before the first Numba compilation (each kernel
module does).
"""

from __future__ import annotations

import functools
import os

import llvmlite.binding as _llvm

_ENV = "NUMBA_CPU_FEATURES"


def full_width_features() -> str | None:
    """Host features with 512-bit vectors preferred, or None when nothing changes."""
    features = _llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in features.split(","):
        return None
    return features + ",-prefer-256-bit"


def configure() -> str | None:
    """Apply the settings (idempotent); returns the feature string in force, if set here."""
    if os.environ.get(_ENV):
        return os.environ[_ENV]
    if os.environ.get("NUMBA_CPU_NAME"):
        return None  # a named target: its features are LLVM's for that CPU, not the host's
    features = full_width_features()
    if features is None:
        return None
    os.environ[_ENV] = features
    from numba.core import config

    config.CPU_FEATURES = features
    return features


@functools.cache
def inline_asm() -> bool:
    """Whether kernels may use inline assembly: LLVM aborts the process on assembly it cannot
    parse, and Numba loads no native assembly parser, so it is loaded here first."""
    try:
        _llvm.initialize_native_asmparser()
    except RuntimeError:
        return False
    return True


configure()
