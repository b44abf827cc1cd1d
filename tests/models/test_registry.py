from __future__ import annotations

import json

import numpy as np
import pytest
import skops.io as sio

from models.registry import Registry, RegistryError, file_sha256, new_run_id


class Foreign:
    """A type no trusted list names."""

    def __init__(self):
        self.payload = [1, 2, 3]


def _saved(registry: Registry, model, **kwargs):
    return registry.saved(
        "scorer",
        model,
        metrics={"roc_auc": 0.7},
        features={"version": "t", "features": ["x0"]},
        window={"test_to": "2026-01-01"},
        reference={"x0": {"edges": [0, 1], "shares": [1.0, 0.0]}},
        extra={"horizon_days": 90},
        **kwargs,
    )


def test_a_saved_model_reloads_and_predicts_identically(tmp_path, fitted, data):
    registry = Registry(tmp_path)
    info = _saved(registry, fitted)
    loaded = registry.load("scorer", info.run_id)
    X, _, _, balance = data["test"]
    assert np.array_equal(loaded.p_pay(X), fitted.p_pay(X))
    assert np.array_equal(loaded.expected_cents(X, balance), fitted.expected_cents(X, balance))
    assert list(loaded.reasons(X[:20])[1]) == list(fitted.reasons(X[:20])[1])


def test_runs_newest_first_and_the_champion_pointer(tmp_path, fitted):
    registry = Registry(tmp_path)
    first = _saved(registry, fitted, run_id="20260101T000000-aaaaaa")
    second = _saved(registry, fitted, run_id="20260102T000000-bbbbbb")
    assert [r.run_id for r in registry.runs("scorer")] == [second.run_id, first.run_id]
    assert registry.champion("scorer") is None
    assert registry.promote("scorer", first.run_id) is None
    assert registry.promote("scorer", second.run_id, forced=True, reason="r") == first.run_id
    assert registry.champion("scorer").run_id == second.run_id
    assert [p["forced"] for p in registry.promotions("scorer")] == [False, True]
    assert registry.runs("scorer")[0].is_champion


def test_a_tampered_artefact_is_refused(tmp_path, fitted):
    registry = Registry(tmp_path)
    info = _saved(registry, fitted)
    path = info.path / "model.skops"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="sha256 differs"):
        registry.load("scorer", info.run_id)


def test_a_foreign_artefact_is_refused_even_with_a_matching_hash(tmp_path):
    registry = Registry(tmp_path)
    run_id = new_run_id()
    folder = tmp_path / "scorer" / run_id
    folder.mkdir(parents=True)
    sio.dump(Foreign(), folder / "model.skops")
    meta = {"run_id": run_id, "created_at": "2026-01-01T00:00:00+00:00"}
    meta["model_sha256"] = file_sha256(folder / "model.skops")
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"outside the trusted list: .*Foreign"):
        registry.load("scorer", run_id)


def test_an_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match="no scorer run"):
        Registry(tmp_path).load("scorer", "../../etc")
