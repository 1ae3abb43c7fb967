"""This CPU's int8 instruction-set family, as export recipes and bench reports name it."""

from __future__ import annotations

import platform

from edgembed.runtime.cpu import this_cpu_int8_path

__all__ = ["ISAS", "detect_isa"]

ISAS = ("avx512_vnni", "avx2", "arm64")


def detect_isa() -> str:
    """The int8 instruction set of this machine: avx512_vnni, avx2 or arm64.

    AVX-VNNI and AMX count as avx512_vnni: they all multiply u8 x s8 without the saturation
    that plain AVX2 (and AVX-512 without VNNI) suffers. Unknown x86 CPUs get avx2, the safe
    choice.
    """
    path = this_cpu_int8_path()
    if path.startswith("arm") or platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    return "avx512_vnni" if path in ("amx", "avx512-vnni", "avx-vnni") else "avx2"
