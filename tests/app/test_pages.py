"""Every page in ``AppTest``: on the small built home and on an empty home (what to run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import format as fmt
from app import queries
from pipelines.home import Home

PAGES = ("portfolio", "vintages", "channels", "compliance", "model_runs", "plan", "data_quality")
APP = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
TIMEOUT = 120


def run_page(name: str) -> None:  # the AppTest script: runs one page's render()
    import importlib

    importlib.import_module(f"app.app_pages.{name}").render()


def page_test(name: str) -> AppTest:
    return AppTest.from_function(run_page, args=(name,), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("info", "caption", "markdown", "success") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def empty_home(tmp_path, monkeypatch) -> Path:
    home = Home(tmp_path / "empty").ensure()
    monkeypatch.setenv("RELANCE_HOME", str(home.root))
    return home.root


@pytest.fixture
def small_home(small_home_master, monkeypatch) -> Path:
    monkeypatch.setenv("RELANCE_HOME", str(small_home_master))
    return small_home_master


@pytest.mark.parametrize("name", PAGES)
def test_every_page_on_an_empty_home_says_what_to_run(name, empty_home):
    at = page_test(name).run()
    assert not at.exception
    assert "run `relance" in texts(at).lower()


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_the_small_home(name, small_home):
    at = page_test(name).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "charts"),
    [("portfolio", 1), ("vintages", 2), ("channels", 3), ("data_quality", 1), ("compliance", 1)],
)
def test_pages_with_data_draw_their_charts(name, charts, small_home):
    at = page_test(name).run()
    assert len(at.get("vega_lite_chart")) >= charts


def _mart_placed(home: Path, creditor: str) -> int:
    path = Home(home).current_path()
    got = queries.frame(
        path,
        "select sum(placed_cents)::bigint as placed from marts.kpi_monthly where creditor_ref = ?",
        [creditor],
    )
    return int(got["placed"][0])


def _first_creditor(home: Path) -> str:
    path = Home(home).current_path()
    return queries.frame(path, "select min(creditor_ref) as c from core.cases")["c"][0]


@pytest.mark.slow
def test_a_shared_link_sets_the_filter_and_the_kpi_equals_the_mart(small_home):
    creditor = _first_creditor(small_home)
    at = page_test("portfolio")
    at.query_params["creditor"] = creditor
    at.run()
    assert at.multiselect(key="pf_creditor").value == [creditor]
    placed = next(m for m in at.metric if m.label == "Placed")
    mart = _mart_placed(small_home, creditor)
    assert placed.value == fmt.euros(mart, decimals=False)
    assert any(c.value.startswith(fmt.euros(mart)) for c in at.caption)
    assert "Σ placed amount" in placed.help


@pytest.mark.slow
def test_changing_a_filter_changes_the_url(small_home):
    creditor = _first_creditor(small_home)
    at = page_test("portfolio").run()
    assert "creditor" not in at.query_params
    before = next(m for m in at.metric if m.label == "Placed").value
    at.multiselect(key="pf_creditor").set_value([creditor]).run()
    assert at.query_params.get("creditor") == creditor
    assert next(m for m in at.metric if m.label == "Placed").value != before
    at.selectbox(key="pf_from").set_value(at.selectbox(key="pf_from").options[2]).run()
    assert at.query_params.get("from") == at.selectbox(key="pf_from").value


@pytest.mark.slow
def test_every_kpi_tile_has_its_definition_on_hover(small_home):
    at = page_test("portfolio").run()
    assert len(at.metric) == 10
    assert all(m.help for m in at.metric)


@pytest.mark.slow
def test_the_whole_app_opens_on_portfolio(small_home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Portfolio"


@pytest.fixture(scope="module")
def modelled_home(tmp_path_factory, small_home_master) -> Path:
    """A copy of the small home with a scorer champion, its scores and this week's plan."""
    import shutil

    from pipelines.plan import planned
    from pipelines.score import scored
    from pipelines.settings import load_settings
    from pipelines.train import promoted, trained_scorer

    root = tmp_path_factory.mktemp("modelled") / "home"
    shutil.copytree(small_home_master, root, ignore=shutil.ignore_patterns("*.lock", ".tmp"))
    settings = load_settings(environ={}).with_home(root)
    home = Home(root)
    promoted(home, settings, trained_scorer(home, settings).run_id)
    scored(home, settings)
    planned(home, settings, user="test")
    return root


@pytest.mark.slow
def test_models_and_plan_pages_show_the_champion_and_the_exported_list(modelled_home, monkeypatch):
    from models.registry import Registry

    monkeypatch.setenv("RELANCE_HOME", str(modelled_home))
    champion = Registry(modelled_home / "artifacts" / "models").champion("scorer")
    models = page_test("model_runs").run()
    assert not models.exception, [e.value for e in models.exception]
    shown = texts(models) + "\n".join(str(e.value) for e in models.get("metric"))
    shown += "\n".join(str(df.value) for df in models.dataframe)
    assert champion.run_id in shown
    plan = page_test("plan").run()
    assert not plan.exception, [e.value for e in plan.exception]
    exported = sorted((modelled_home / "exports" / "calls").glob("*.csv"))
    assert exported and plan.dataframe, "the plan page previews the newest call list"
    assert exported[-1].stem in texts(plan) + "\n".join(
        str(e.label) for e in plan.get("download_button")
    )
