"""Shared fixtures: the sample portfolio's warehouse (built once per run, without publishing) and
one validation run of every suite on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import ingest, validate, warehouse
from pipelines.home import Home
from pipelines.sample import copy_sample
from pipelines.settings import load_settings


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory):
    return load_settings(environ={}).with_home(tmp_path_factory.mktemp("contracts") / "home")


@pytest.fixture(scope="session")
def sample_warehouse(sample_settings) -> Path:
    """The sample portfolio run through ingest and every SQL step into one DuckDB file."""
    home = Home(sample_settings.home).ensure()
    copy_sample(home.raw)
    path = home.root / "sample.duckdb"
    con = warehouse.connect(path, sample_settings)
    try:
        warehouse.create_raw_schema(con)
        ingest.ingested(con, home.root, sample_settings, home.root / ".tmp")
        warehouse.transformed(con, sample_settings)
        con.execute("checkpoint")
    finally:
        con.close()
    return path


@pytest.fixture
def sample_con(sample_warehouse, sample_settings):
    con = warehouse.connect(sample_warehouse, sample_settings, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def sample_run(sample_warehouse, sample_settings):
    """Every suite on the sample warehouse."""
    con = warehouse.connect(sample_warehouse, sample_settings, read_only=True)
    try:
        return validate.validation_of(con, sample_settings)
    finally:
        con.close()
