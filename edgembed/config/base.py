"""What every configuration shares: engines, the TOML file, the JSON form of a config."""

from __future__ import annotations

import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgembed.errors import ConfigError

__all__ = ["DEFAULT_ENGINE", "ENGINES", "as_json", "check_engines", "load_toml"]


# What runs an export's ONNX files (runtime/session.py). The default is the engine measured
# faster at the same accuracy on the dev box (docs/findings.md, "Engines").
ENGINES = ("onnxruntime", "openvino")
DEFAULT_ENGINE = "onnxruntime"


def check_engines(engines: tuple[str, ...]) -> None:
    """Raises ConfigError for an engine edgembed does not have, or for none."""
    for engine in engines:
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got '{engine}'")
    if not engines:
        raise ConfigError(f"name at least one engine: {', '.join(ENGINES)}")


def load_toml(path: Path) -> dict[str, Any]:
    """Read edgembed.toml into click's ``default_map`` shape.

    Raises:
        ConfigError: the file is not valid TOML.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix the file or pass --config."
        ) from exc
    # click looks options up by parameter name, which uses underscores.
    return _underscore_keys(data)


def as_json(config: Any) -> dict[str, Any]:
    """A configuration dataclass as JSON: paths as strings, tuples as lists, secrets left out
    (the fields a dataclass hides from its repr)."""
    hidden = {f.name for f in config.__dataclass_fields__.values() if not f.repr}
    return {key: _jsonable(value) for key, value in asdict(config).items() if key not in hidden}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _underscore_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key.replace("-", "_"): _underscore_keys(value) if isinstance(value, dict) else value
        for key, value in data.items()
    }
