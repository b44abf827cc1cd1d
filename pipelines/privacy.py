"""Pseudonymised identifiers (DESIGN §7): a keyed hash, stable across builds.

The key comes from the environment variable named by ``privacy.pseudonym_key_env``; a demo home
without it uses ``privacy.pseudonym_key_default``. The same id and key always give the same
pseudonym, so a drill-down list can be compared week to week without showing a real reference.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

import polars as pl

from pipelines.settings import Settings

PREFIX = "P"
DIGITS = 12


def pseudonym_key(settings: Settings, environ: Mapping[str, str] | None = None) -> bytes:
    """The key of the keyed hash: from the environment when set, else the demo default."""
    env = os.environ if environ is None else environ
    name = str(settings.require("privacy.pseudonym_key_env"))
    value = env.get(name) or str(settings.require("privacy.pseudonym_key_default"))
    return value.encode("utf-8")


def pseudonym(value: str, key: bytes) -> str:
    """``P`` followed by the first 12 hex digits of HMAC-SHA256(key, value)."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]


def pseudonymised(frame: pl.DataFrame, columns: list[str], key: bytes) -> pl.DataFrame:
    """``frame`` with each of ``columns`` replaced by its pseudonym (nulls stay null)."""
    return frame.with_columns(
        pl.col(column).map_elements(lambda v: pseudonym(str(v), key), return_dtype=pl.String)
        for column in columns
    )
