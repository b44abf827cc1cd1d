"""Rows → files: each source in its dialect, weekly or monthly batches named by received date,
with its ``mapping.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl

from pipelines.kinds import KINDS
from pipelines.mappings.loader import TEMPLATES_DIR
from pipelines.simulate.frames import AGENCY

FR_HEADERS = {
    "placements": {
        "case_ref": "N° dossier",
        "invoice_ref": "N° facture",
        "debtor_ref": "Réf client",
        "debtor_key": "Identifiant débiteur",
        "debtor_type": "Type client",
        "debtor_name": "Nom / Raison sociale",
        "placed_date": "Date de placement",
        "invoice_date": "Date facture",
        "due_date": "Date d'échéance",
        "amount": "Montant TTC",
        "title_date": "Date du titre",
        "arrears_status": "Statut impayé",
        "phone": "Téléphone",
        "phone_2": "Téléphone 2",
        "email": "E-mail",
        "address_line": "Adresse",
        "postcode": "Code postal",
        "city": "Ville",
        "country": "Pays",
    },
    "payments": {
        "payment_ref": "Réf paiement",
        "case_ref": "N° dossier",
        "paid_at": "Date paiement",
        "amount": "Montant",
        "method": "Mode de règlement",
        "reverses_ref": "Annule le paiement",
    },
    "case_updates": {
        "case_ref": "N° dossier",
        "update_ref": "Réf mouvement",
        "update_date": "Date effet",
        "update_type": "Type mouvement",
        "invoice_ref": "N° facture",
        "amount": "Montant",
        "reason": "Motif",
    },
    "account_status": {
        "case_ref": "N° dossier",
        "status_month": "Mois",
        "status_code": "Retard (mois)",
        "balance": "Solde",
        "paid_amount": "Encaissé",
    },
}
FR_VALUES = {
    "debtor_type": {"Particulier": "individual", "Professionnel": "business"},
    "method": {
        "CB": "card",
        "Virement": "transfer",
        "Prélèvement": "direct_debit",
        "Chèque": "cheque",
        "Espèces": "cash",
    },
    "update_type": {
        "Rappel": "recall",
        "Clôture": "closure",
        "Rectification montant": "amount_correction",
        "Titre exécutoire": "title_obtained",
    },
}
CREDITOR_KINDS = ("placements", "payments", "case_updates", "account_status")
AGENCY_FILES = {  # file prefix → (kind, constants)
    "actions": ("actions", {}),
    "decisions": ("decisions", {}),
    "payments_provider": ("payments", {"reported_by": "provider"}),
    "payments_agency": ("payments", {"reported_by": "agency"}),
    "promises": ("promises", {}),
    "plans": ("plans", {}),
    "disputes": ("disputes", {}),
    "complaints": ("complaints", {}),
    "debtor_events": ("debtor_events", {}),
    "contact_preferences": ("contact_preferences", {}),
    "remittances": ("remittances", {}),
    "fees": ("fees", {}),
}


class Source:
    """One folder under raw/: its dialect, renames, constants and value maps."""

    def __init__(self, name: str, template: str, creditor: dict | None):
        self.name, self.template, self.creditor = name, template, creditor
        self.dialect = tomllib.loads((TEMPLATES_DIR / f"{template}.toml").read_text("utf-8"))
        self.french = template != "iso_csv"

    def constants(self, kind: str) -> dict[str, str]:
        if self.creditor is None:
            return dict(AGENCY_FILES[kind][1])
        const = {"reported_by": "creditor"} if kind == "payments" else {}
        if self.french:
            const["creditor_ref"] = self.creditor["ref"]
            if kind == "placements":
                const["creditor_name"] = self.creditor["name"]
                const["creditor_sector"] = self.creditor["sector"]
        return const

    def kind_of(self, prefix: str) -> str:
        return AGENCY_FILES[prefix][0] if self.creditor is None else prefix

    def headers(self, kind: str) -> dict[str, str]:
        return FR_HEADERS.get(kind, {}) if self.french and self.creditor else {}

    def values(self, kind: str) -> dict[str, dict[str, str]]:
        if not (self.french and self.creditor):
            return {}
        cols = set(KINDS[kind].column_names)
        return {c: m for c, m in FR_VALUES.items() if c in cols}

    def columns(self, prefix: str) -> list[str]:
        kind = self.kind_of(prefix)
        const = self.constants(prefix if self.creditor is None else kind)
        return [c for c in KINDS[kind].column_names if c not in const and c != "currency"]

    def prefixes(self) -> tuple[str, ...]:
        return tuple(AGENCY_FILES) if self.creditor is None else CREDITOR_KINDS

    def mapping_toml(self) -> str:
        who = self.creditor["name"] if self.creditor else "the agency's systems"
        lines = [f"# {who}: written by the Relance simulator", f'template = "{self.template}"', ""]
        for prefix in self.prefixes():
            kind = self.kind_of(prefix)
            lines += ["[[files]]", f'kind = "{kind}"', f'glob = "{prefix}_*.csv"']
            heads = self.headers(kind)
            if heads:
                lines += ["", "[files.columns]"] + [f'{k} = "{v}"' for k, v in heads.items()]
            const = self.constants(prefix if self.creditor is None else kind)
            if const:
                lines += ["", "[files.constants]"] + [f'{k} = "{v}"' for k, v in const.items()]
            for col, vmap in self.values(kind).items():
                lines += ["", f"[files.values.{col}]"] + [f'"{k}" = "{v}"' for k, v in vmap.items()]
            lines.append("")
        return "\n".join(lines)

    # -- formatting ------------------------------------------------------------------------
    def formatted(self, frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
        kind = KINDS[self.kind_of(prefix)]
        d = self.dialect
        exprs = []
        for name in self.columns(prefix):
            col = kind.column(name)
            if name not in frame.columns:
                expr = pl.lit(None, dtype=pl.String)
            elif col.type == "money":
                expr = money(name, d["decimal_mark"], d["thousands_sep"])
            elif col.type in ("date", "month"):
                expr = pl.col(name).dt.strftime(d["date_format"])
            elif col.type == "timestamp":
                expr = pl.col(name).dt.strftime(d["datetime_format"])
            elif col.type == "float":
                expr = pl.col(name).round(12).cast(pl.String)
                if d["decimal_mark"] == ",":
                    expr = expr.str.replace(".", ",", literal=True)
            elif col.type == "bool":
                expr = pl.col(name).cast(pl.String)
            elif col.type == "phone" and self.french:
                expr = pl.col(name).str.replace_all(r"(\d\d)", "$1 ").str.strip_chars()
            else:
                expr = pl.col(name).cast(pl.String)
            inverse = {v: k for k, v in self.values(kind.name).get(name, {}).items()}
            if inverse:
                expr = expr.replace(inverse)
            exprs.append(expr.alias(self.headers(kind.name).get(name, name)))
        return frame.select(exprs)

    def encode(self, text: str) -> bytes:
        enc = self.dialect["encoding"]
        return text.encode("utf-8" if enc == "utf-8-sig" else enc)


def money(name: str, decimal_mark: str, thousands: str) -> pl.Expr:
    a = pl.col(name).cast(pl.Int64).abs()
    e = a // 100
    cents = (a % 100).cast(pl.String).str.zfill(2)
    euros = e.cast(pl.String)
    if thousands:
        z3 = (e % 1000).cast(pl.String).str.zfill(3)
        k3 = ((e // 1000) % 1000).cast(pl.String).str.zfill(3)
        euros = (
            pl.when(e >= 1_000_000)
            .then(
                pl.format(
                    "{}{}{}{}{}", e // 1_000_000, pl.lit(thousands), k3, pl.lit(thousands), z3
                )
            )
            .when(e >= 1000)
            .then(pl.format("{}{}{}", e // 1000, pl.lit(thousands), z3))
            .otherwise(euros)
        )
    sign = pl.when(pl.col(name) < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, euros, pl.lit(decimal_mark), cents])


def sources(world: dict) -> dict[str, Source]:
    out = {c["source"]: Source(c["source"], c["template"], c) for c in world["creditors"]}
    out[AGENCY] = Source(AGENCY, "iso_csv", None)
    return out


class Writer:
    """Appends batches to files under ``raw/``; a file gets its header when first created."""

    def __init__(self, raw: Path, world: dict):
        self.raw = raw
        self.sources = sources(world)
        self.rows: dict[str, int] = {}
        self.files: dict[Path, int] = {}

    def write_mappings(self) -> None:
        for src in self.sources.values():
            folder = self.raw / src.name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "mapping.toml").write_text(src.mapping_toml(), encoding="utf-8")

    def append(self, source: str, prefix: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        src = self.sources[source]
        kind = src.kind_of(prefix)
        for (recv,), part in frame.sort("_recv", maintain_order=True).group_by(
            "_recv", maintain_order=True
        ):
            path = self.raw / source / f"{prefix}_{recv:%Y-%m-%d}.csv"
            new = path not in self.files
            text = src.formatted(part, prefix).write_csv(
                separator=src.dialect["delimiter"],
                include_header=new,
                null_value="",
                quote_style="necessary",
                line_terminator="\r\n" if src.french else "\n",
            )
            data = src.encode(text)
            if new and src.dialect["encoding"] == "utf-8-sig":
                data = b"\xef\xbb\xbf" + data
            with open(path, "ab" if not new else "wb") as handle:
                handle.write(data)
            self.files[path] = self.files.get(path, 0) + part.height
            self.rows[kind] = self.rows.get(kind, 0) + part.height
