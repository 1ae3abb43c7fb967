"""Which int8 arithmetic this CPU runs: the class an int8 export is validated on.

onnxruntime multiplies int8 activations by int8 weights with the best instruction the CPU has,
and they do not all compute the same thing: plain AVX2 and AVX-512 without VNNI multiply u8 x
s8 with VPMADDUBSW, whose 16-bit pair sums saturate; AVX-512 VNNI, AVX-VNNI and AMX accumulate
in 32 bits; ARM uses its own dot-product instructions. An int8 file checked against PyTorch on
one class is only known good on that class, so the export records the class it was measured
on and the runtime compares it with the CPU it lands on.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from edgembed.errors import ConfigError
from edgembed.formats.manifest import Manifest

__all__ = [
    "INT8_PATHS",
    "choose_variant",
    "cpu_model_name",
    "int8_path",
    "physical_cores",
    "read_cpuinfo",
    "this_cpu_int8_path",
]

INT8_PATHS = (
    "amx",
    "avx512-vnni",
    "avx-vnni",
    "avx512-u8s8",
    "avx2-u8s8",
    "arm-i8mm",
    "arm-dot",
    "arm",
    "unknown",
)
_CPUINFO = Path("/proc/cpuinfo")
_ARM = ("arm64", "aarch64")


def int8_path(cpuinfo: str, machine: str) -> str:
    """The int8 class of a CPU, from its /proc/cpuinfo text and its machine name.

    Args:
        cpuinfo: the text of /proc/cpuinfo (empty where there is none).
        machine: ``platform.machine()``: x86_64, AMD64, aarch64, arm64, ...

    Returns:
        One of INT8_PATHS: the fastest int8 instruction onnxruntime would use; ``unknown``
        when the flags say nothing (no /proc/cpuinfo, or a machine not listed).
    """
    flags = set(cpuinfo.split())
    if machine.lower() in _ARM:
        if "i8mm" in flags:
            return "arm-i8mm"
        if "asimddp" in flags:
            return "arm-dot"
        return "arm" if flags else "unknown"
    # The most capable instruction wins, as in onnxruntime's own dispatch.
    if {"amx_int8", "amx_tile"} <= flags:
        return "amx"
    if flags & {"avx512_vnni", "avx512vnni"}:
        return "avx512-vnni"
    if "avx_vnni" in flags:
        return "avx-vnni"
    if "avx512bw" in flags:
        return "avx512-u8s8"
    if "avx2" in flags:
        return "avx2-u8s8"
    return "unknown"


def read_cpuinfo() -> str:
    """The text of /proc/cpuinfo ("" where there is none: off Linux, in some sandboxes). The
    one place edgembed reads it."""
    try:
        return _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def this_cpu_int8_path() -> str:
    """The int8 class of the CPU this process runs on (``unknown`` off Linux)."""
    return int8_path(read_cpuinfo(), platform.machine())


def cpu_model_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (else the platform's processor)."""
    for line in read_cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def physical_cores() -> int:
    """Physical cores of this machine (what onnxruntime uses by default)."""
    cores: set[tuple[str, str]] = set()
    physical = ""
    for line in read_cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "physical id":
            physical = value.strip()
        elif key.strip() == "core id":
            cores.add((physical, value.strip()))
    return len(cores) or os.cpu_count() or 1


def choose_variant(manifest: Manifest, requested: str, cpu: str) -> tuple[str, str | None]:
    """The variant to serve, and why it is not the one asked for (None when it is).

    ``auto`` serves int8 when the export has it and its int8 was validated on this CPU's
    class (or the export predates that record), else fp32. ``int8`` asked for explicitly is
    refused on a CPU of another class; on an ``unknown`` one it is served, with a warning.

    Raises:
        ConfigError: int8 was asked for on a CPU whose class the export was not validated on.
        ManifestError: the export has no file of the requested variant.
    """
    if requested == "fp32":
        return "fp32", None
    if "int8" not in manifest.variants:
        if requested == "auto":
            return "fp32", f"export '{manifest.name}' has no int8 model"
        return "int8", None  # loading it then says which variants the export holds
    validated = manifest.int8_validated_isa
    if validated is None or cpu in validated:
        return "int8", None
    checked = ", ".join(validated)
    why = f"its int8 model was validated on {checked}, and this CPU's int8 path is {cpu}"
    if requested == "auto":
        return "fp32", f"{why} (`edgembed check EXPORT` checks int8 on this CPU)"
    if cpu == "unknown":
        return "int8", why + " (not checked)"
    raise ConfigError(
        f"export '{manifest.name}': {why}, whose int8 arithmetic differs, so int8 may lose "
        "accuracy here. Serve --variant fp32 (or auto, which picks fp32 here), check int8 on "
        "this CPU with `edgembed check EXPORT` (no PyTorch needed), or export again on a CPU "
        "like this one."
    )
