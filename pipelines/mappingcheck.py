"""``relance mappings check``: every source's mapping against its files, without a build."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipelines import ingest
from pipelines.kinds import KINDS
from pipelines.settings import Settings


def mapping_report(root: Path, settings: Settings) -> tuple[list[str], list[str]]:
    """(lines describing each readable file, problems one per line) for the home at ``root``."""
    planned, problems = ingest.planned_files(root / "raw", root, settings)
    lines: list[str] = []
    if not planned and not problems:
        problems.append(
            f"{root / 'raw'}: no source folders with files; put files and a mapping.toml there"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for mapping, spec, path, received in planned:
            rel = ingest._relative(path, root)
            try:
                check = ingest.checked(path, spec, mapping, root, Path(tmp))
            except ingest.IngestError as exc:
                problems.append(str(exc))
                continue
            finally:
                for leftover in Path(tmp).iterdir():
                    leftover.unlink()
            known = {spec.header_for(c).lower() for c in KINDS[spec.kind].column_names}
            unmapped = [h for h in check.header if h.lower() not in known]
            note = f"; unmapped columns ignored: {', '.join(unmapped)}" if unmapped else ""
            if unmapped and KINDS[spec.kind].keeps_extra_columns:
                note = f"; extra columns kept as features: {', '.join(unmapped)}"
            lines.append(
                f"{rel}: {spec.kind}, received {received:%Y-%m-%d}, {check.bytes:,} bytes, "
                f"{spec.dialect.encoding}, delimiter {spec.dialect.delimiter!r}{note}"
            )
    return lines, problems
