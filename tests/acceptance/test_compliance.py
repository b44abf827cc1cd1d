"""Issue 4 on the default world: each compliance tile finds exactly the planted violations of
``truth/violations.csv`` (same records, so equal counts) and nothing else."""

from __future__ import annotations

import polars as pl
import pytest

# compliance tile -> the planted categories it must find (pipelines/simulate/violations.py)
TILE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "contact_cap": ("calls_same_day", "over_7_days"),
    "out_of_window": ("out_of_window",),
    "excluded_contact": ("excluded_contact",),
    "late_remittance": ("late_remittance",),
    "consumer_fee": ("consumer_fee",),
    "time_barred_worked": (),
}


@pytest.mark.parametrize("tile", sorted(TILE_CATEGORIES))
def test_each_compliance_tile_finds_exactly_the_planted_violations(world, warehouse, record, tile):
    planted = pl.read_csv(world[3] / "violations.csv").filter(
        pl.col("category").is_in(list(TILE_CATEGORIES[tile]))
    )
    found = warehouse.sql(
        "select ref from marts.compliance_breaches where tile = ?", params=[tile]
    ).fetchall()
    tile_count = warehouse.sql(
        "select breaches from marts.compliance_tiles where tile = ?", params=[tile]
    ).fetchall()[0][0]
    wanted, got = set(planted["ref"].to_list()), {ref for (ref,) in found}
    record(
        f"compliance_{tile}_breaches",
        tile_count,
        planted.height,
        planted.height,
        f"warehouse tile vs truth/violations {list(TILE_CATEGORIES[tile])}: "
        f"missed {sorted(wanted - got)}, extra {sorted(got - wanted)[:5]}",
    )
    assert got == wanted
