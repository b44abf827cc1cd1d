"""Relance — Streamlit entry point (``relance app``). Pages live in ``app/app_pages``."""

from __future__ import annotations

import streamlit as st

from app.app_pages import overview


def main() -> None:
    st.set_page_config(page_title="Relance", layout="wide")
    page = st.navigation(
        [st.Page(overview.render, title="Overview", url_path="overview", default=True)]
    )
    page.run()


main()
