"""The default world's files: nothing lost, planted violations listed, resent rows quarantined."""

from __future__ import annotations

import polars as pl


def test_default_world_builds_with_no_row_lost(warehouse, record):
    from pipelines.warehouse import lost_rows

    lost = lost_rows(warehouse)
    record("files_with_rows_lost", len(lost), 0, 0, f"warehouse: raw = staged + quarantined {lost}")


def test_planted_violations_are_listed_with_counts(world, record):
    folder = world[3]
    paths = sorted(folder.glob("violations*"))
    assert paths, f"no truth/violations file in {folder}"
    frame = pl.read_csv(paths[0]) if paths[0].suffix == ".csv" else pl.read_parquet(paths[0])
    kinds = frame.get_column(frame.columns[0]).unique().to_list()
    record("planted_violation_kinds", len(kinds), 5, None, f"truth: {sorted(kinds)}")
