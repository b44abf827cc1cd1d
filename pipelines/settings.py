"""Paths and policy figures from ``relance.toml``, overridable by ``RELANCE_*`` variables.

``RELANCE_CONFIG`` names another settings file; ``RELANCE_HOME`` overrides ``paths.home``; any
other figure is overridden by ``RELANCE_<SECTION>__<KEY>`` (nested sections joined by ``__``),
its text parsed as TOML when it can be (``3``, ``true``, ``"x"``) and kept as a string otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "relance.toml"
ENV_PREFIX = "RELANCE_"


class SettingsError(ValueError):
    """A settings file or override is invalid."""


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _with_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    merged = json.loads(json.dumps(data))
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = merged
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"{name}: {'.'.join(path[:-1])} is not a settings section")
        node[path[-1]] = _parse_env_value(value)
    if environ.get("RELANCE_HOME"):
        merged.setdefault("paths", {})["home"] = environ["RELANCE_HOME"]
    return merged


@dataclass(frozen=True)
class Settings:
    """All settings as nested dictionaries, with typed accessors for the common ones."""

    data: dict[str, Any]
    source: Path

    def get(self, dotted: str, default: Any = None) -> Any:
        """Return the value at ``section.key`` (``default`` when absent)."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def require(self, dotted: str) -> Any:
        """Return the value at ``section.key`` or raise naming the missing setting."""
        value = self.get(dotted)
        if value is None:
            raise SettingsError(f"{self.source}: setting {dotted!r} is missing; add it")
        return value

    @property
    def home(self) -> Path:
        return Path(self.require("paths.home")).expanduser()

    @property
    def external_data(self) -> Path:
        path = Path(self.require("paths.external_data")).expanduser()
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()

    @property
    def fingerprint(self) -> str:
        """A short hash of every setting (recorded with exports and model runs)."""
        blob = json.dumps(self.data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def with_home(self, home: Path | str) -> Settings:
        data = json.loads(json.dumps(self.data))
        data.setdefault("paths", {})["home"] = str(home)
        return Settings(data, self.source)


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the settings file (default ``relance.toml`` at the repository root) and apply
    environment overrides."""
    env = os.environ if environ is None else environ
    source = Path(path or env.get("RELANCE_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{source}: settings file not found; set RELANCE_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{source}: not valid TOML ({exc}); fix the file") from None
    return Settings(_with_overrides(data, env), source)
