"""The CPU's int8 class, read from faked /proc/cpuinfo text, and the variant served on it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from edgembed.errors import ConfigError
from edgembed.formats.manifest import MANIFEST_NAME, read_manifest
from edgembed.runtime import OnnxEmbedder
from edgembed.runtime.cpu import INT8_PATHS, int8_path, this_cpu_int8_path

_X86 = "processor : 0\nflags : fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma {}\n"
AVX2 = _X86.format("avx2")
SKYLAKE = _X86.format("avx2 avx512f avx512bw avx512vl")
ICELAKE = _X86.format("avx2 avx512f avx512bw avx512_vnni")
SAPPHIRE = _X86.format("avx2 avx512f avx512bw avx512_vnni amx_bf16 amx_tile amx_int8")
ALDER = _X86.format("avx2 avx_vnni")
GRAVITON2 = "processor : 0\nFeatures : fp asimd evtstrm aes crc32 asimddp\n"
GRAVITON3 = "processor : 0\nFeatures : fp asimd asimddp sve i8mm bf16\n"


@pytest.mark.parametrize(
    ("cpuinfo", "machine", "expected"),
    [
        (AVX2, "x86_64", "avx2-u8s8"),
        (SKYLAKE, "x86_64", "avx512-u8s8"),
        (ICELAKE, "x86_64", "avx512-vnni"),
        (SAPPHIRE, "x86_64", "amx"),
        (ALDER, "x86_64", "avx-vnni"),
        (GRAVITON2, "aarch64", "arm-dot"),
        (GRAVITON3, "aarch64", "arm-i8mm"),
        ("Features : fp asimd\n", "aarch64", "arm"),
        ("", "arm64", "unknown"),
        ("", "AMD64", "unknown"),
        (_X86.format(""), "x86_64", "unknown"),
    ],
)
def test_int8_path_from_cpu_flags(cpuinfo: str, machine: str, expected: str) -> None:
    assert int8_path(cpuinfo, machine) == expected


def test_this_cpu_has_a_known_class() -> None:
    assert this_cpu_int8_path() in INT8_PATHS


def _validated_on(export: Path, validated: list[str] | None) -> None:
    path = export / MANIFEST_NAME
    data: dict[str, Any] = json.loads(path.read_text())
    quantization = data["files"]["model.int8.onnx"]["quantization"]
    if validated is None:
        del quantization["validated_isa"]  # an export made before the record existed
    else:
        quantization["validated_isa"] = validated
    path.write_text(json.dumps(data))


def test_the_tests_serve_an_export_validated_on_this_cpu(tiny_export: Path) -> None:
    """The committed export was made on an AVX-512 VNNI box; elsewhere conftest checks a copy
    with `edgembed check`, so the tests serve int8 on every CPU."""
    validated = read_manifest(tiny_export).int8_validated_isa or ()
    assert validated[0] == "avx512-vnni"
    assert this_cpu_int8_path() in validated or this_cpu_int8_path() == "unknown"


def test_int8_is_served_on_the_validated_class(export_copy: Path) -> None:
    _validated_on(export_copy, ["avx512-vnni"])
    assert OnnxEmbedder(export_copy, cpu=int8_path(ICELAKE, "x86_64")).variant == "int8"
    assert OnnxEmbedder(export_copy, "int8", cpu="avx512-vnni").variant == "int8"


def test_another_class_gets_fp32_with_one_log_line(
    export_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _validated_on(export_copy, ["avx512-vnni"])
    with caplog.at_level(logging.WARNING, logger="edgembed.runtime"):
        embedder = OnnxEmbedder(export_copy, cpu=int8_path(AVX2, "x86_64"))
    assert embedder.variant == "fp32"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1
    assert "validated on avx512-vnni" in lines[0] and "avx2-u8s8" in lines[0]


def test_forced_int8_on_another_class_is_refused(export_copy: Path) -> None:
    _validated_on(export_copy, ["avx512-vnni"])
    with pytest.raises(ConfigError, match="validated on avx512-vnni.*avx2-u8s8.*--variant fp32"):
        OnnxEmbedder(export_copy, "int8", cpu=int8_path(AVX2, "x86_64"))
    with pytest.raises(ConfigError, match="arm-dot"):
        OnnxEmbedder(export_copy, "int8", cpu=int8_path(GRAVITON2, "aarch64"))


def test_forced_int8_on_an_unknown_cpu_is_served(export_copy: Path) -> None:
    _validated_on(export_copy, ["avx512-vnni"])
    assert OnnxEmbedder(export_copy, cpu="unknown").variant == "fp32"
    assert OnnxEmbedder(export_copy, "int8", cpu="unknown").variant == "int8"


def test_older_exports_keep_serving_int8(export_copy: Path) -> None:
    _validated_on(export_copy, None)
    assert read_manifest(export_copy).int8_validated_isa is None
    assert OnnxEmbedder(export_copy, cpu="avx2-u8s8").variant == "int8"


def test_auto_serves_fp32_when_the_export_has_no_int8(export_copy: Path) -> None:
    path = export_copy / MANIFEST_NAME
    data = json.loads(path.read_text())
    del data["files"]["model.int8.onnx"]
    path.write_text(json.dumps(data))
    assert OnnxEmbedder(export_copy).variant == "fp32"
    assert OnnxEmbedder(export_copy, "fp32", cpu="avx2-u8s8").variant == "fp32"
