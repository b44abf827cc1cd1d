import polars as pl
import pytest

from pipelines.privacy import pseudonym, pseudonym_key, pseudonymised
from pipelines.settings import load_settings


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, b"relance-demo-key"), ({"RELANCE_PSEUDONYM_KEY": "s3cret"}, b"s3cret")],
)
def test_pseudonym_key_from_environment_or_demo_default(environ, expected):
    assert pseudonym_key(load_settings(environ={}), environ) == expected


def test_pseudonym_is_stable_keyed_and_short():
    assert pseudonym("case-1", b"k") == pseudonym("case-1", b"k")
    assert pseudonym("case-1", b"k") != pseudonym("case-1", b"other")
    assert pseudonym("case-1", b"k") != pseudonym("case-2", b"k")
    assert len(pseudonym("case-1", b"k")) == 13 and pseudonym("x", b"k").startswith("P")


def test_pseudonymised_replaces_columns_and_keeps_nulls():
    frame = pl.DataFrame({"case_id": ["a", None], "n": [1, 2]})
    out = pseudonymised(frame, ["case_id"], b"k")
    assert out["case_id"].to_list() == [pseudonym("a", b"k"), None]
    assert out["n"].to_list() == [1, 2]
