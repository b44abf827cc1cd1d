"""The uplift walkthrough runs end to end on the small simulated home (nbmake)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipelines.settings import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "uplift.ipynb"

# the small home has 12 months: hold out 8 weeks, small boosting and bootstrap
SMALL = {
    "RELANCE_RECOMMENDER__HOLDOUT_WEEKS": "8",
    "RELANCE_RECOMMENDER__TRAIN_WEEK_STEP": "1",
    "RELANCE_RECOMMENDER__BOOTSTRAP": "30",
    "RELANCE_RECOMMENDER__PARAMS__MAX_ITER": "20",
    "RELANCE_RECOMMENDER__PARAMS__MIN_SAMPLES_LEAF": "50",
}

pytestmark = pytest.mark.slow


def test_notebook_is_paired_and_stripped():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


def test_uplift_notebook_executes(small_settings, tmp_path):
    env = {**os.environ, "RELANCE_HOME": str(small_settings.home), **SMALL}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbmake",
            "--rootdir",
            str(tmp_path),
            str(NOTEBOOK),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    runs = list(
        (small_settings.home / "artifacts" / "models" / "recommender").glob("*/model.skops")
    )
    assert len(runs) == 1
