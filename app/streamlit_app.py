"""Relance — Streamlit entry point (``relance app``). Pages live in ``app/app_pages``, each a
``render()`` function; nothing else runs here but the navigation."""

from __future__ import annotations

import streamlit as st

from app.app_pages import channels, compliance, data_quality, model_runs, plan, portfolio, vintages

PAGES = (
    (portfolio.render, "Portfolio", "portfolio"),
    (vintages.render, "Vintages", "vintages"),
    (channels.render, "Channels and tone", "channels"),
    (compliance.render, "Compliance", "compliance"),
    (model_runs.render, "Models", "models"),
    (plan.render, "Plan", "plan"),
    (data_quality.render, "Data quality", "data-quality"),
)


def main() -> None:
    st.set_page_config(page_title="Relance", layout="wide")
    pages = [
        st.Page(render, title=title, url_path=url, default=i == 0)
        for i, (render, title, url) in enumerate(PAGES)
    ]
    st.navigation(pages).run()


main()
