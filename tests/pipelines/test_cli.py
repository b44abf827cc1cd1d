"""The command line: user mistakes are one line per problem on stderr and exit 1, never a
traceback; `current` stays where it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import write_source

MAPPING = 'template = "iso_csv"\n[[files]]\nkind = "promises"\nglob = "promises_*.csv"\n'
GOOD = (
    "promise_ref,creditor_ref,case_ref,made_date,due_date,amount\nP1,C,K,2026-01-02,2026-01-09,10\n"
)


def relance(home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RELANCE_HOME": str(home.root), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_refused_files_give_one_line_each_and_exit_1(home):
    write_source(
        home,
        "agence",
        MAPPING,
        {
            "promises_2026-01-10.csv": GOOD.replace(",", ";"),
            "promises_2026-01-11.csv": b"",
        },
    )
    proc = relance(home, "build")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "error: raw/agence/promises_2026-01-10.csv: the header has 1 column with delimiter ',' "
        "but splits on ';'; set delimiter = ';' in raw/agence/mapping.toml",
        "error: raw/agence/promises_2026-01-11.csv: the file is empty (0 bytes); ask the sender "
        "to resend it",
    ]
    assert home.current_id() is None


def test_mappings_check_reports_files_and_problems(home):
    write_source(home, "agence", MAPPING, {"promises_2026-01-10.csv": GOOD + ""})
    ok = relance(home, "mappings", "check")
    assert ok.returncode == 0, ok.stderr
    assert "raw/agence/promises_2026-01-10.csv: promises, received 2026-01-10" in ok.stdout
    (home.raw / "agence" / "notes.txt").write_text("hello")
    bad = relance(home, "mappings", "check")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: raw/agence/notes.txt: matches no [[files]] glob")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("rollback",), "no earlier build to roll back to"),
        (("rollback", "--to", "nope"), "no build nope"),
        (("convert", "uci-taiwan", "--src", "/nonexistent.csv"), "/nonexistent.csv: not found"),
    ],
)
def test_user_mistakes_without_traceback(home, args, expected):
    proc = relance(home, *args)
    assert proc.returncode == 1
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_the_uci_file_is_refused_in_one_line(home, tmp_path):
    src = tmp_path / "other.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    proc = relance(home, "convert", "uci-taiwan", "--src", str(src))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "other.csv: not the UCI credit-card file" in lines[0]


def test_builds_on_an_empty_home_says_what_to_run(home):
    proc = relance(home, "builds")
    assert proc.returncode == 0
    assert "run `relance build`" in proc.stdout
