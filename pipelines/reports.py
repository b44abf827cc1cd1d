"""The validation report (static HTML, offline) and the per-creditor reject files.

* ``<home>/docs/validation/index.html`` — the current build's report; ``<build id>.html`` beside
  it for every validated build (a failed build's report shows why it was not published). One
  self-contained file: inline CSS, no script, no external link, so it renders with no network.
* ``<home>/exports/reports/rejects/<creditor>.csv`` — the quarantined rows of the creditor files
  (placements, case updates, account status, creditor-reported payments), one file per creditor,
  to send back: kind, file, row, reason code and text, and the row's raw values as received (JSON
  of the canonical columns; ``raw_line`` for records the reader could not split). Rows are
  assigned by their ``creditor_ref``, else the file's creditor (the most common creditor_ref of
  its rows), else the source folder. Quarantined rows of agency systems and analysis inputs go to
  ``_internal.csv`` (not for sending). Nothing is pseudonymised: each creditor gets its own rows.
"""

from __future__ import annotations

import csv
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from data_contracts.runner import Outcome, ValidationRun
from pipelines.home import Home

CREDITOR_KINDS = ("placements", "case_updates", "account_status", "payments")
INTERNAL = "_internal"
LINEAGE_KEYS = ("file_id", "source_row", "reader_error", "extra")
REASONS = {
    "malformed_row": "the record could not be split into the header's columns",
    "missing_required": "a required column is empty",
    "scientific_notation": "an identifier or phone written like 1.00E+05 (spreadsheet damage)",
    "bad_amount": "an amount that cannot be read",
    "inexact_amount": "an amount in scientific notation not exact to the cent",
    "negative_amount": "an amount that must be positive is zero or negative",
    "bad_date": "a date that cannot be read",
    "bad_timestamp": "a date-time that cannot be read",
    "bad_number": "a number that cannot be read",
    "bad_bool": "a yes/no value that cannot be read",
    "bad_iso_week": "an ISO week that is not YYYY-Www",
    "bad_currency": "a currency that is not a three-letter code",
    "bad_value": "a value outside the allowed list",
    "date_after_received": "a date after the file's received date",
    "unknown_case": "the row names a case no placement has",
    "unknown_payment": "the row names a payment that does not exist",
    "duplicate_row": "the same row was received before (resent)",
    "conflicting_duplicate": "the same reference was received before with other values "
    "(send corrections as case updates)",
}
REJECT_COLUMNS = (
    "creditor",
    "kind",
    "source_file",
    "source_row",
    "reason",
    "reason_text",
    "raw_values",
)


@dataclass(frozen=True)
class RejectFile:
    creditor: str
    path: Path
    rows: int


def _file_name(creditor: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", creditor).strip(".") or "unknown"


def rejects_dir(home: Home) -> Path:
    return home.exports / "reports" / "rejects"


def reject_rows(con) -> list[dict]:
    """Every quarantined row with its creditor (or ``_internal``), oldest file first."""
    creditor_kinds = ", ".join(f"'{k}'" for k in CREDITOR_KINDS)
    file_creditor = " union all ".join(
        f"select file_id, creditor_ref from staging.{k}" for k in CREDITOR_KINDS
    )
    rows = con.execute(
        f"""
        with file_creditor as (
          select file_id, mode(creditor_ref) as creditor_ref from ({file_creditor}) group by 1
        )
        select
          case
            when q.kind in ({creditor_kinds})
             and coalesce(json_extract_string(q.raw_values, '$.reported_by'), 'creditor')
                 = 'creditor'
            then coalesce(nullif(trim(json_extract_string(q.raw_values, '$.creditor_ref')), ''),
                          fc.creditor_ref, f.source)
            else '{INTERNAL}'
          end as creditor,
          q.kind, q.source_file, q.source_row, q.reason, q.raw_values
        from quarantine.rows as q
        join raw.files as f using (file_id)
        left join file_creditor as fc using (file_id)
        order by creditor, q.file_id, q.source_row
        """
    ).fetchall()
    out = []
    for creditor, kind, source_file, source_row, reason, raw_values in rows:
        values = json.loads(raw_values) if raw_values else {}
        kept = {k: v for k, v in values.items() if k not in LINEAGE_KEYS and v is not None}
        out.append(
            {
                "creditor": creditor,
                "kind": kind,
                "source_file": source_file,
                "source_row": source_row,
                "reason": reason,
                "reason_text": REASONS.get(reason, ""),
                "raw_values": json.dumps(kept, ensure_ascii=False),
            }
        )
    return out


def written_rejects(con, home: Home) -> list[RejectFile]:
    """Rewrite ``exports/reports/rejects/`` from the warehouse behind ``con``."""
    folder = rejects_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    by_creditor: dict[str, list[dict]] = {}
    for row in reject_rows(con):
        by_creditor.setdefault(row["creditor"], []).append(row)
    written = []
    for creditor, rows in by_creditor.items():
        path = folder / f"{_file_name(creditor)}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=REJECT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        written.append(RejectFile(creditor, path, len(rows)))
    return written


# -- the HTML report --------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem;color:#1d2430}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d5d9e0;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17663a}.failed{color:#b42318;font-weight:600}.warnings{color:#9a6700}
.critical{color:#b42318}.warning{color:#9a6700}.ok{color:#17663a}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#f2f4f7}
code{font-size:.8rem;word-break:break-all}details{margin:.2rem 0}summary{cursor:pointer}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _row(cells: list[str], numeric: tuple[int, ...] = ()) -> str:
    return (
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def _scope(o: Outcome) -> str:
    if o.engine == "sql":
        return "SQL, every row"
    return f"GX, sample of {o.checked_rows:,}" if o.sampled else "GX, every row"


def report_html(
    build_id: str | None, run: ValidationRun, rejects: list[RejectFile], published: bool = True
) -> str:
    """The report as one self-contained HTML page."""
    title = f"Relance validation — build {build_id or '(none)'}"
    state = "published" if published else "not published"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p><span class="badge {run.status}">{_e(run.status)}</span> · build {state} · '
        f"{len(run.suites)} suites · {len(run.outcomes):,} expectations · "
        f"{len(run.critical_failures)} critical failures · {len(run.warnings)} warnings · "
        f"{run.seconds:.1f} s · started {run.started_at:%Y-%m-%d %H:%M:%S} UTC</p>",
        "<p>Critical failures stop the publish; warnings are recorded and shown. Keys, foreign "
        "keys, the nothing-lost invariant and cross-table rules run as SQL on every row; the "
        f"other expectations run in Great Expectations on a sample of at most "
        f"{run.sample_rows:,} rows per table (the whole table when smaller).</p>",
        "<h2>Failing expectations</h2>",
    ]
    failing = run.critical_failures + run.warnings
    if failing:
        parts.append(
            "<table><tr><th>severity</th><th>suite</th><th>column</th><th>rule</th>"
            "<th>expectation</th><th>checked</th><th>unexpected</th><th>examples</th></tr>"
        )
        for o in failing:
            examples = "<br>".join(f"<code>{_e(x)}</code>" for x in o.examples)
            if o.error:
                examples = f"<code>could not run: {_e(o.error)}</code>"
            parts.append(
                _row(
                    [
                        f'<span class="{o.severity}">{_e(o.severity)}</span>',
                        _e(o.suite),
                        _e(o.column),
                        _e(o.rule),
                        f"<code>{_e(o.expectation)}</code>",
                        _e(_scope(o)),
                        _e(f"{o.unexpected_count:,}" if o.unexpected_count is not None else ""),
                        examples,
                    ],
                    numeric=(6,),
                )
            )
        parts.append("</table>")
    else:
        parts.append('<p class="ok">Every expectation passed.</p>')
    parts.append("<h2>Suites</h2>")
    parts.append(
        "<table><tr><th>suite</th><th>layer</th><th>rows</th><th>expectations</th>"
        "<th>passed</th><th>failed critical</th><th>failed warning</th><th>seconds</th></tr>"
    )
    for s in run.suite_summary():
        status = (
            "failed" if s["failed_critical"] else "warnings" if s["failed_warning"] else "passed"
        )
        parts.append(
            _row(
                [
                    f'<a href="#{_e(s["suite"])}" class="{status}">{_e(s["suite"])}</a>',
                    _e(s["layer"]),
                    _e(f"{s['rows']:,}" if s["rows"] is not None else "—"),
                    _e(s["expectations"]),
                    _e(s["passed"]),
                    _e(s["failed_critical"]),
                    _e(s["failed_warning"]),
                    _e(f"{s['seconds']:.2f}"),
                ],
                numeric=(2, 3, 4, 5, 6, 7),
            )
        )
    parts.append("</table>")
    parts.append("<h2>Rejected rows, per creditor</h2>")
    if rejects:
        parts.append("<table><tr><th>creditor</th><th>rows</th><th>file</th></tr>")
        for r in rejects:
            href = f"../../exports/reports/rejects/{r.path.name}"
            parts.append(
                _row(
                    [
                        _e(r.creditor),
                        _e(f"{r.rows:,}"),
                        f'<a href="{_e(href)}">{_e(r.path.name)}</a>',
                    ],
                    numeric=(1,),
                )
            )
        parts.append("</table>")
        parts.append(
            f"<p>{INTERNAL}.csv holds the rejects of agency systems and analysis inputs "
            "(not for sending).</p>"
        )
    else:
        parts.append("<p>No quarantined rows.</p>")
    parts.append("<h2>Every expectation</h2>")
    for name in run.suites:
        mine = [o for o in run.outcomes if o.suite == name]
        bad = sum(not o.success for o in mine)
        parts.append(
            f'<details id="{_e(name)}"><summary>{_e(name)} — {len(mine) - bad}/{len(mine)} '
            "passed</summary><table><tr><th></th><th>severity</th><th>column</th><th>rule</th>"
            "<th>expectation</th><th>checked</th></tr>"
        )
        for o in mine:
            mark = '<span class="ok">✓</span>' if o.success else '<span class="failed">✗</span>'
            parts.append(
                _row(
                    [
                        mark,
                        _e(o.severity),
                        _e(o.column),
                        _e(o.rule),
                        f"<code>{_e(o.expectation)}</code>",
                        _e(_scope(o)),
                    ]
                )
            )
        parts.append("</table></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def report_dir(home: Home) -> Path:
    return home.docs / "validation"


def written_report(
    home: Home,
    build_id: str | None,
    run: ValidationRun,
    rejects: list[RejectFile],
    published: bool = True,
) -> Path:
    """Write ``docs/validation/<build id>.html`` and, for a published build, ``index.html``;
    return the page to show (``index.html`` when published)."""
    folder = report_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    text = report_html(build_id, run, rejects, published)
    own = folder / f"{build_id or 'unbuilt'}.html"
    own.write_text(text, encoding="utf-8")
    if not published:
        return own
    index = folder / "index.html"
    index.write_text(text, encoding="utf-8")
    return index
