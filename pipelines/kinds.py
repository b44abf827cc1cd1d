"""The import kinds of DESIGN §4: canonical columns, natural keys and the dates that must
precede a file's received date.

This module is the contract between mapping files, ingest, staging SQL and the data contracts.
Every kind lands in ``raw.<kind>`` with exactly these columns as text (plus lineage), and leaves
``staging.<kind>`` with them typed. Column types:

``ref``        an identifier, kept as text; a value in scientific notation (``1.00E+05``) is a
               spreadsheet-mangled identifier and quarantines the row (``scientific_notation``).
``text``       free text, trimmed.
``money``      an amount, parsed with the file's decimal mark into integer cents (``<col>_cents``);
               scientific notation is accepted only when exact to the cent.
``date``       a calendar date in the file's ``date_format``.
``timestamp``  a local date-time in the file's ``datetime_format`` and ``timezone`` (or with an
               explicit offset), stored as a UTC ``TIMESTAMP`` (``<col>`` keeps its ``_at`` name);
               a bare date is accepted as midnight local time.
``int``/``float``  numbers (decimal mark honoured).
``bool``       true/false, 1/0, yes/no, oui/non, o/n, y/n, t/f, vrai/faux.
``enum``       one of ``values`` (after the mapping's value maps).
``phone``      normalised to E.164 with the file's default region (French overseas departments
               tried when a French national number is not valid in metropolitan France); an invalid
               number is kept as NULL with the row, a number in scientific notation quarantines it.
``email``      lowercased; an invalid address becomes NULL (the row is kept).
``iso_week``   ``YYYY-Www``.
``month``      ``YYYY-MM`` or any date in the month (stored as the first day of the month).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS: tuple[str, ...] = (
    "wait",
    "sms_nudge",
    "email_nudge",
    "email_formal",
    "call_nudge",
    "call_formal",
    "letter_formal",
    "formal_notice",
)
CHANNELS: tuple[str, ...] = ("sms", "email", "call", "letter", "visit")
TONES: tuple[str, ...] = ("nudge", "formal", "notice")
DEBTOR_TYPES: tuple[str, ...] = ("individual", "business")
DEBTOR_EVENT_TYPES: tuple[str, ...] = (
    "over_indebtedness",
    "insolvency",
    "deceased",
    "represented",
    "vulnerable",
)


@dataclass(frozen=True)
class Column:
    """One canonical column of an import kind."""

    name: str
    type: str
    required: bool = False
    doc: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportKind:
    """A kind of file Relance imports, with its canonical columns and natural key."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    not_after_received: tuple[str, ...] = ()
    keeps_extra_columns: bool = False
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: str, required: bool = False, doc: str = "", values=()) -> Column:
    return Column(name, type_, required, doc, tuple(values))


_CASE = (
    _c("creditor_ref", "ref", True, "the creditor's code"),
    _c("case_ref", "ref", True, "the creditor's case (dossier) reference"),
)
_MONEY_CURRENCY = _c("currency", "text", False, "ISO 4217 code; default from the mapping (EUR)")

KINDS: dict[str, ImportKind] = {
    k.name: k
    for k in (
        ImportKind(
            "placements",
            "Creditor file: one row per placed invoice, with the case, the debtor and contact "
            "points.",
            (
                *_CASE,
                _c("invoice_ref", "ref", True, "invoice number inside the case"),
                _c("creditor_name", "text", False, "display name of the creditor"),
                _c(
                    "creditor_sector",
                    "enum",
                    False,
                    "sector",
                    (
                        "telecom",
                        "energy",
                        "consumer_credit",
                        "b2b_wholesale",
                        "b2b_services",
                        "other",
                    ),
                ),
                _c("debtor_ref", "ref", True, "the creditor's customer reference"),
                _c("debtor_key", "ref", False, "agency-wide debtor id (dedup key) or SIREN"),
                _c("debtor_type", "enum", True, "individual or business", DEBTOR_TYPES),
                _c("debtor_name", "text", True, "person or company name"),
                _c("placed_date", "date", True, "date the case was placed with the agency"),
                _c("invoice_date", "date", False, "invoice issue date"),
                _c("due_date", "date", True, "invoice due date (starts the limitation period)"),
                _c("amount", "money", True, "placed amount of the invoice (> 0)"),
                _MONEY_CURRENCY,
                _c("title_date", "date", False, "date of an enforceable title (judgment), if any"),
                _c("arrears_status", "text", False, "creditor's arrears status code"),
                _c("phone", "phone", False, "main phone"),
                _c("phone_2", "phone", False, "second phone"),
                _c("email", "email", False, "e-mail address"),
                _c("address_line", "text", False, "postal address"),
                _c("postcode", "ref", False, "postcode (971xx–976xx are overseas departments)"),
                _c("city", "text", False, "city"),
                _c("country", "text", False, "ISO country code, default FR"),
            ),
            ("creditor_ref", "case_ref", "invoice_ref"),
            ("placed_date", "invoice_date"),
        ),
        ImportKind(
            "payments",
            "Payments received, reported by the creditor, the payment provider or the agency; "
            "a reversal (chargeback, bounced cheque) names the payment it reverses.",
            (
                _c(
                    "reported_by",
                    "enum",
                    True,
                    "who reports it",
                    ("creditor", "provider", "agency"),
                ),
                _c("payment_ref", "ref", True, "payment reference, unique per reporter"),
                *_CASE,
                _c("paid_at", "timestamp", True, "when the money was received"),
                _c("amount", "money", True, "amount (> 0); a reversal may be signed either way"),
                _MONEY_CURRENCY,
                _c(
                    "method",
                    "enum",
                    False,
                    "means",
                    ("card", "transfer", "direct_debit", "cheque", "cash", "other"),
                ),
                _c("reverses_ref", "ref", False, "payment_ref this row reverses"),
            ),
            ("reported_by", "creditor_ref", "payment_ref"),
            ("paid_at",),
        ),
        ImportKind(
            "case_updates",
            "Creditor file: amount corrections, recalls, closures, reopenings, titles obtained.",
            (
                *_CASE,
                _c("update_ref", "ref", True, "update reference"),
                _c("update_date", "date", True, "effective date"),
                _c(
                    "update_type",
                    "enum",
                    True,
                    "what changes",
                    ("amount_correction", "recall", "closure", "reopen", "title_obtained"),
                ),
                _c("invoice_ref", "ref", False, "invoice concerned, if any"),
                _c("amount", "money", False, "signed correction (amount_correction only)"),
                _MONEY_CURRENCY,
                _c("reason", "text", False, "free text, never used by models"),
            ),
            ("creditor_ref", "update_ref"),
            ("update_date",),
        ),
        ImportKind(
            "account_status",
            "Creditor file: monthly account status (balance, amount paid, arrears status code).",
            (
                *_CASE,
                _c("status_month", "month", True, "month of the statement"),
                _c("status_code", "int", False, "arrears status (months past due; <=0 current)"),
                _c("balance", "money", False, "statement balance (may be negative)"),
                _c("paid_amount", "money", False, "amount paid during the month"),
                _MONEY_CURRENCY,
            ),
            ("creditor_ref", "case_ref", "status_month"),
            ("status_month",),
        ),
        ImportKind(
            "actions",
            "Agency system: every contact attempt and its outcome.",
            (
                _c("action_ref", "ref", True, "attempt id in the agency system"),
                *_CASE,
                _c("action_at", "timestamp", True, "when the attempt was made"),
                _c("channel", "enum", True, "channel", CHANNELS),
                _c("tone", "enum", False, "nudge, formal, or notice (formal notice letter)", TONES),
                _c("direction", "enum", False, "default outbound", ("outbound", "inbound")),
                _c(
                    "outcome",
                    "enum",
                    False,
                    "result of the attempt",
                    (
                        "sent",
                        "delivered",
                        "failed",
                        "bounced",
                        "opened",
                        "clicked",
                        "no_answer",
                        "busy",
                        "voicemail",
                        "right_party",
                        "wrong_party",
                        "callback_requested",
                        "refused",
                    ),
                ),
                _c(
                    "observed_cause",
                    "enum",
                    False,
                    "cause of non-payment stated by the debtor or found on this contact",
                    ("cash_flow", "dispute", "administrative", "hardship", "unwilling"),
                ),
                _c("phone", "phone", False, "number dialled or texted"),
                _c("letter_ref", "ref", False, "letter reference (letters)"),
                _c("agent_ref", "ref", False, "agent or batch"),
            ),
            ("action_ref",),
            ("action_at",),
            defaults={"direction": "outbound"},
        ),
        ImportKind(
            "decisions",
            "Agency system: the weekly decision per case (wait included) with its propensity.",
            (
                *_CASE,
                _c("iso_week", "iso_week", True, "decision week, YYYY-Www"),
                _c("action", "enum", True, "one of the eight actions", ACTIONS),
                _c("propensity", "float", True, "probability the policy chose it, in (0, 1]"),
                _c("policy_id", "ref", True, "deciding policy"),
                _c("is_exploration", "bool", True, "drawn by exploration"),
                _c("decided_at", "timestamp", False, "when decided"),
            ),
            ("creditor_ref", "case_ref", "iso_week"),
            ("decided_at",),
        ),
        ImportKind(
            "promises",
            "Agency system: promises to pay (amount and date) taken on a contact.",
            (
                _c("promise_ref", "ref", True, "promise id"),
                *_CASE,
                _c("made_date", "date", True, "when promised"),
                _c("due_date", "date", True, "promised payment date"),
                _c("amount", "money", True, "promised amount (> 0)"),
                _MONEY_CURRENCY,
                _c("action_ref", "ref", False, "contact on which it was made"),
            ),
            ("promise_ref",),
            ("made_date",),
        ),
        ImportKind(
            "plans",
            "Agency system: payment plan events (agreed with its terms, broken, completed, "
            "cancelled).",
            (
                _c("plan_ref", "ref", True, "plan id"),
                *_CASE,
                _c("event_date", "date", True, "date of the event"),
                _c(
                    "event",
                    "enum",
                    True,
                    "plan event",
                    ("agreed", "broken", "completed", "cancelled"),
                ),
                _c("plan_amount", "money", False, "total of the plan (agreed rows)"),
                _MONEY_CURRENCY,
                _c("instalments", "int", False, "number of instalments (agreed rows)"),
                _c("first_due_date", "date", False, "first instalment due (agreed rows)"),
                _c("frequency_days", "int", False, "days between instalments, default 30"),
            ),
            ("plan_ref", "event"),
            ("event_date",),
        ),
        ImportKind(
            "disputes",
            "Agency system: disputes (contestations) opened and resolved.",
            (
                _c("dispute_ref", "ref", True, "dispute id"),
                *_CASE,
                _c("event_date", "date", True, "date of the event"),
                _c("event", "enum", True, "opened or resolved", ("opened", "resolved")),
                _c(
                    "reason",
                    "enum",
                    False,
                    "why contested",
                    ("amount", "service", "existence", "already_paid", "identity", "other"),
                ),
                _c(
                    "resolution",
                    "enum",
                    False,
                    "outcome (resolved rows)",
                    ("upheld", "rejected", "corrected", "withdrawn"),
                ),
            ),
            ("dispute_ref", "event"),
            ("event_date",),
        ),
        ImportKind(
            "complaints",
            "Agency system: complaints about the collection itself.",
            (
                _c("complaint_ref", "ref", True, "complaint id"),
                *_CASE,
                _c("event_date", "date", True, "date of the event"),
                _c("event", "enum", True, "opened or closed", ("opened", "closed")),
                _c("channel", "enum", False, "channel complained about", CHANNELS),
                _c(
                    "reason",
                    "enum",
                    False,
                    "what about",
                    ("pressure", "tone", "wrong_person", "privacy", "fees", "other"),
                ),
            ),
            ("complaint_ref", "event"),
            ("event_date",),
        ),
        ImportKind(
            "debtor_events",
            "Agency system: over-indebtedness, insolvency, deceased, represented, vulnerable "
            "(start and end), reported on any case of the debtor.",
            (
                _c("event_ref", "ref", True, "event id"),
                *_CASE,
                _c("event_date", "date", True, "effective date"),
                _c("event_type", "enum", True, "what happened", DEBTOR_EVENT_TYPES),
                _c("status", "enum", False, "start (default) or end", ("start", "end")),
            ),
            ("event_ref",),
            ("event_date",),
            defaults={"status": "start"},
        ),
        ImportKind(
            "contact_preferences",
            "Agency system: channel opt-outs, opt-ins and preferred channel or hours.",
            (
                _c("preference_ref", "ref", True, "preference record id"),
                *_CASE,
                _c("effective_date", "date", True, "from when"),
                _c("channel", "enum", True, "channel concerned", (*CHANNELS, "any")),
                _c("preference", "enum", True, "what", ("opt_out", "opt_in", "preferred")),
                _c("window_start", "text", False, "preferred hours start, HH:MM local"),
                _c("window_end", "text", False, "preferred hours end, HH:MM local"),
            ),
            ("preference_ref",),
            ("effective_date",),
        ),
        ImportKind(
            "remittances",
            "Agency system: funds remitted to the creditor, one row per remitted payment.",
            (
                _c("remittance_ref", "ref", True, "remittance id"),
                *_CASE,
                _c("payment_ref", "ref", True, "the payment remitted"),
                _c("remitted_date", "date", True, "date paid to the creditor"),
                _c("amount", "money", True, "amount remitted"),
                _MONEY_CURRENCY,
            ),
            ("creditor_ref", "remittance_ref", "payment_ref"),
            ("remitted_date",),
        ),
        ImportKind(
            "fees",
            "Agency system: fee lines charged to a debtor.",
            (
                _c("fee_ref", "ref", True, "fee line id"),
                *_CASE,
                _c("fee_date", "date", True, "date charged"),
                _c(
                    "fee_type",
                    "enum",
                    True,
                    "kind of fee",
                    ("indemnity_40", "collection_fee", "file_fee", "legal_cost", "other"),
                ),
                _c("amount", "money", True, "amount (> 0)"),
                _MONEY_CURRENCY,
                _c("has_title", "bool", False, "backed by an enforceable title"),
            ),
            ("fee_ref",),
            ("fee_date",),
        ),
        ImportKind(
            "labels",
            "Analysis input: outcomes known outside the ledger (case, observed date, label, "
            "value).",
            (
                *_CASE,
                _c("label", "ref", True, "outcome name, e.g. defaulted"),
                _c("observed_date", "date", True, "when the outcome was observed"),
                _c("value", "float", True, "outcome value"),
            ),
            ("creditor_ref", "case_ref", "label", "observed_date"),
            ("observed_date",),
        ),
        ImportKind(
            "experiments",
            "Analysis input: randomised tests (unit, arm, propensity, outcome, amount); every "
            "other column of the file is kept as a feature.",
            (
                _c("experiment_ref", "ref", True, "experiment id"),
                _c("unit_ref", "ref", True, "randomised unit"),
                _c("arm", "ref", True, "arm assigned"),
                _c("propensity", "float", True, "assignment probability, in (0, 1]"),
                _c("outcome", "float", True, "primary outcome (e.g. 1 = paid)"),
                _c("amount", "money", False, "amount outcome"),
                _MONEY_CURRENCY,
                _c("observed_date", "date", False, "when observed"),
            ),
            ("experiment_ref", "unit_ref"),
            ("observed_date",),
            keeps_extra_columns=True,
        ),
    )
}


def kind(name: str) -> ImportKind:
    """Return the import kind called ``name`` or raise ``KeyError`` listing the known ones."""
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(KINDS)
        raise KeyError(f"unknown import kind {name!r}; known kinds: {known}") from None
