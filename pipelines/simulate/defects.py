"""File defects of real feeds, applied to the written files (SIMULATION.md), each listed in
``truth/file_defects.csv`` with the quarantine reason it must end as:

``resent``            a batch resent the next day (part of its rows, reordered): every row of the
                      resent file is a ``duplicate_row``;
``bad_amount``        an amount written ``abc`` in an account status file: ``bad_amount``;
``truncated``         an account status file whose last line was cut short: ``malformed_row``;
``scientific_phone``  a phone of a second-invoice placement row written ``6.12E+08`` (Excel):
                      ``scientific_notation``.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from pipelines.simulate.writer import Source

RESENT_PREFIXES = ("actions", "payments_provider", "decisions", "payments", "promises")


def _read(path: Path, src: Source) -> tuple[bytes, list[str], str]:
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data[3 if bom else 0 :].decode(src.encode("x") and _codec(src))
    nl = "\r\n" if "\r\n" in text else "\n"
    return (b"\xef\xbb\xbf" if bom else b""), text.split(nl), nl


def _codec(src: Source) -> str:
    enc = src.dialect["encoding"]
    return "utf-8" if enc == "utf-8-sig" else enc


def _write(path: Path, src: Source, bom: bytes, lines: list[str], nl: str) -> None:
    path.write_bytes(bom + nl.join(lines).encode(_codec(src)))


def _received(path: Path) -> date:
    return date.fromisoformat(path.stem.split("_")[-1][:10])


def applied(
    raw: Path, sources: dict[str, Source], files: dict[Path, int], end: date, world: dict, rng
) -> list[dict]:
    """Apply the defects; return one truth row per defective row."""
    fw = world["files"]
    out: list[dict] = []
    taken: set[Path] = set()
    by_prefix: dict[tuple[str, str], list[Path]] = {}
    for path, n in sorted(files.items()):
        if n >= 6:
            by_prefix.setdefault((path.parent.name, path.name.rsplit("_", 1)[0]), []).append(path)

    def pick(keys, k) -> list[tuple[str, Path]]:
        pool = [
            (s, p)
            for key in keys
            for s, p in [(key[0], q) for q in by_prefix.get(key, [])]
            if p not in taken and _received(p) < end
        ]
        chosen = [pool[i] for i in sorted(rng.choice(len(pool), min(k, len(pool)), replace=False))]
        taken.update(p for _, p in chosen)
        return chosen

    def row(src, path, n, kind, defect, reason):
        out.append(
            {
                "source": src,
                "file": f"raw/{src}/{path.name}",
                "source_row": n,
                "kind": kind,
                "defect": defect,
                "expected_reason": reason,
            }
        )

    resent_keys = [k for k in by_prefix if k[1] in RESENT_PREFIXES]
    for src_name, path in pick(resent_keys, fw["resent_files"]):
        src = sources[src_name]
        bom, lines, nl = _read(path, src)
        body = [x for x in lines[1:] if x]
        k = max(1, int(len(body) * fw["resent_fraction"]))
        chosen = [body[i] for i in rng.permutation(len(body))[:k]]
        new = path.with_name(
            f"{path.stem}_renvoi{path.suffix}".replace(
                path.stem.rsplit("_", 1)[1], (_received(path) + timedelta(days=1)).isoformat(), 1
            )
        )
        _write(new, src, bom, [lines[0], *chosen, ""], nl)
        files[new] = k
        taken.add(new)
        for n in range(1, k + 1):
            row(
                src_name,
                new,
                n,
                src.kind_of(path.name.rsplit("_", 1)[0]),
                "resent",
                "duplicate_row",
            )
    status = [k for k in by_prefix if k[1] == "account_status"]
    for src_name, path in pick(status, fw["bad_amounts"]):
        src = sources[src_name]
        bom, lines, nl = _read(path, src)
        delim = src.dialect["delimiter"]
        header = next(csv.reader([lines[0].lstrip("\ufeff")], delimiter=delim))
        col = header.index(src.headers("account_status").get("balance", "balance"))
        n = 1 + int(rng.integers(0, len([x for x in lines[1:] if x])))
        fields = next(csv.reader([lines[n]], delimiter=delim))
        fields[col] = "abc"
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="").writerow(fields)
        lines[n] = buf.getvalue()
        _write(path, src, bom, lines, nl)
        row(src_name, path, n, "account_status", "bad_amount", "bad_amount")
    for src_name, path in pick(status, fw["truncated_files"]):
        src = sources[src_name]
        bom, lines, nl = _read(path, src)
        while lines and not lines[-1]:
            lines.pop()
        delim = src.dialect["delimiter"]
        parts = lines[-1].split(delim)
        lines[-1] = delim.join(parts[:2]) + delim + parts[2][: max(1, len(parts[2]) // 2)]
        _write(path, src, bom, lines, nl)
        row(src_name, path, len(lines) - 1, "account_status", "truncated", "malformed_row")
    french = [k for k in by_prefix if k[1] == "placements" and sources[k[0]].template == "fr_excel"]
    n_done = 0
    for src_name, path in pick(french, 4 * fw["scientific_phones"]):
        if n_done >= fw["scientific_phones"]:
            break
        src = sources[src_name]
        bom, lines, nl = _read(path, src)
        delim = src.dialect["delimiter"]
        header = next(csv.reader([lines[0]], delimiter=delim))
        col, inv = header.index("Téléphone"), header.index("N° facture")
        rows = [(i, next(csv.reader([x], delimiter=delim))) for i, x in enumerate(lines) if x][1:]
        hits = [(i, f) for i, f in rows if not f[inv].endswith("-1") and f[col]]
        if not hits:
            continue
        i, fields = hits[int(rng.integers(0, len(hits)))]
        digits = fields[col].replace(" ", "")
        fields[col] = f"{int(digits) / 1e8:.2f}".replace(".", ",") + "E+08"
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="").writerow(fields)
        lines[i] = buf.getvalue()
        _write(path, src, bom, lines, nl)
        row(src_name, path, i, "placements", "scientific_phone", "scientific_notation")
        n_done += 1
    return out
