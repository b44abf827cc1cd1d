"""The README cannot drift: its command reference is --help, its kinds table is kinds.py."""

from __future__ import annotations

from pipelines import readme
from pipelines.kinds import KINDS


def test_cli_reference_matches_help():
    text = readme.README.read_text(encoding="utf-8")
    assert readme.refreshed(text) == text, "README's CLI reference is stale: run `make docs`"


def test_every_command_is_documented():
    text = readme.README.read_text(encoding="utf-8")
    for path in readme.command_paths(readme.typer.main.get_command(readme.app)):
        assert f"### `{' '.join(('relance', *path))}`" in text


def test_import_kinds_table_lists_every_kind_with_its_key():
    text = readme.README.read_text(encoding="utf-8")
    for kind in KINDS.values():
        row = f"| `{kind.name}` | {', '.join(kind.natural_key)} |"
        assert row in text, f"README kinds table lacks: {row}"


def test_readme_opens_with_the_two_commands():
    head = readme.README.read_text(encoding="utf-8")[:1500]
    assert head.index("make demo") < head.index("make test")
