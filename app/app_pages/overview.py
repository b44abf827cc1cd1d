"""Overview page: which build is current and what it holds (minimal until the app issue)."""

from __future__ import annotations

import streamlit as st

from app import queries


def render() -> None:
    st.title("Relance")
    overview = queries.build_overview()
    if overview is None:
        st.info("No warehouse yet. Run `relance build` (or `make demo`) and reload this page.")
        return
    build_id, counts = overview
    st.caption(f"Current build: {build_id}")
    st.dataframe(counts, hide_index=True)
