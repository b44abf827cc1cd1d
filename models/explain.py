"""Reason codes: the top three reasons of each score, in plain French and English (DOMAIN §4).

``ReasonCoder`` approximates the model's log-odds additively, one term per feature: the
partial dependence of the log-odds on that feature, measured once at fit time on a reference
sample over the feature's quantile grid (missing values included as their own point). A case's
contribution from a feature is the dependence at its value minus the dependence's mean over
the reference sample, so contributions read "compared with a typical case". The reasons are
the three features with the largest contributions in absolute value, each said as "raises" or
"lowers" the likelihood of payment (ties: the feature listed first). Looking up the tables
and keeping the top three is one compiled pass over the rows (no model call, no matrix of
contributions), so reasons cost little beside the score itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

# plain-language names of the features (English, French); a feature without one is shown by name
LABELS: dict[str, tuple[str, str]] = {
    "placed_amount_cents": ("Amount placed", "Montant confié"),
    "corrected_amount_cents": ("Amount owed after corrections", "Montant dû après corrections"),
    "balance_cents": ("Balance outstanding", "Solde restant dû"),
    "collected_cents": ("Amount already paid", "Montant déjà réglé"),
    "balance_share": ("Share of the debt still unpaid", "Part de la dette encore impayée"),
    "n_invoices": ("Number of invoices", "Nombre de factures"),
    "has_title": ("Enforceable title", "Titre exécutoire"),
    "days_since_due": ("Time since the due date", "Ancienneté depuis l'échéance"),
    "days_since_placement": ("Time since placement", "Ancienneté du dossier"),
    "n_payments": ("Payments so far", "Paiements déjà reçus"),
    "n_reversals": ("Reversed payments", "Paiements rejetés"),
    "days_since_last_payment": ("Time since the last payment", "Délai depuis le dernier paiement"),
    "has_valid_phone": ("Valid phone number", "Numéro de téléphone valide"),
    "has_valid_mobile": ("Valid mobile number", "Numéro de mobile valide"),
    "has_valid_email": ("Valid e-mail address", "Adresse e-mail valide"),
    "sms_attempts": ("SMS sent", "SMS envoyés"),
    "email_attempts": ("E-mails sent", "E-mails envoyés"),
    "call_attempts": ("Call attempts", "Tentatives d'appel"),
    "letter_attempts": ("Letters sent", "Courriers envoyés"),
    "nudge_attempts": ("Friendly reminders", "Relances amiables"),
    "formal_attempts": ("Formal reminders", "Relances fermes"),
    "notice_attempts": ("Formal notices", "Mises en demeure"),
    "inbound_contacts": ("Contacts initiated by the debtor", "Contacts à l'initiative du débiteur"),
    "right_party_contacts": ("Conversations with the debtor", "Échanges avec le débiteur"),
    "days_since_last_right_party": (
        "Time since the last conversation",
        "Délai depuis le dernier échange",
    ),
    "attempts_30d": ("Contacts in the last 30 days", "Contacts des 30 derniers jours"),
    "call_attempts_30d": ("Calls in the last 30 days", "Appels des 30 derniers jours"),
    "formal_attempts_30d": (
        "Formal reminders in the last 30 days",
        "Relances fermes des 30 derniers jours",
    ),
    "right_party_contacts_30d": (
        "Conversations in the last 30 days",
        "Échanges des 30 derniers jours",
    ),
    "days_since_last_action": ("Time since the last contact", "Délai depuis le dernier contact"),
    "debtor_open_cases": ("Other open cases of the debtor", "Autres dossiers ouverts du débiteur"),
    "promises_made": ("Promises to pay made", "Promesses de paiement faites"),
    "promises_kept": ("Promises to pay kept", "Promesses de paiement tenues"),
    "promises_broken": ("Promises to pay broken", "Promesses de paiement non tenues"),
    "promises_pending": ("Promise to pay pending", "Promesse de paiement en cours"),
    "n_plans": ("Payment plans agreed", "Échéanciers accordés"),
    "n_plans_broken": ("Payment plans broken", "Échéanciers rompus"),
    "plan_paid_share": ("Payment plan followed", "Échéancier respecté"),
    "n_disputes": ("Disputes raised", "Contestations soulevées"),
    "has_open_dispute": ("Open dispute", "Contestation en cours"),
    "n_complaints": ("Complaints", "Réclamations"),
    "is_over_indebted": ("Over-indebtedness procedure", "Procédure de surendettement"),
    "is_insolvent": ("Insolvency proceedings", "Procédure collective"),
    "is_deceased": ("Debtor deceased", "Débiteur décédé"),
    "is_represented": ("Represented by an adviser", "Représenté par un conseil"),
    "last_status_code": ("Arrears status", "Statut d'impayé"),
    "debtor_type": ("Type of debtor", "Type de débiteur"),
    "sector": ("Creditor's sector", "Secteur du créancier"),
    "observed_cause": ("Known cause of non-payment", "Cause connue de l'impayé"),
    "plan_status": ("Payment plan status", "État de l'échéancier"),
}
for _k in range(1, 7):
    LABELS[f"status_m{_k}"] = (
        f"Arrears status {_k} month(s) ago",
        f"Statut d'impayé il y a {_k} mois",
    )
    LABELS[f"statement_balance_m{_k}"] = (
        f"Statement balance {_k} month(s) ago",
        f"Solde du relevé il y a {_k} mois",
    )
    LABELS[f"statement_paid_m{_k}"] = (
        f"Amount paid {_k} month(s) ago",
        f"Montant payé il y a {_k} mois",
    )

DIRECTIONS = {
    "en": ("raises the likelihood of payment", "lowers the likelihood of payment"),
    "fr": ("augmente la probabilité de paiement", "diminue la probabilité de paiement"),
}
SEPARATOR = " · "


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def quantile_grid(values: np.ndarray, points: int) -> np.ndarray:
    """Distinct quantiles of the present values (at most ``points``)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.array([])
    return np.unique(np.quantile(present, np.linspace(0, 1, points)))


def reason_phrases(features: Sequence[str], language: str) -> np.ndarray:
    """Text of each (feature, direction): index 2·j is "raises", 2·j + 1 "lowers"."""
    column = 0 if language == "en" else 1
    up, down = DIRECTIONS[language]
    colon = ": " if language == "en" else " : "
    phrases = []
    for name in features:
        label = LABELS.get(name, (name, name))[column]
        phrases += [f"{label}{colon}{up}", f"{label}{colon}{down}"]
    return np.array(phrases, dtype=object)


class ReasonCoder(BaseEstimator):
    """Top reasons per prediction from per-feature partial dependence of the log-odds.

    Parameters
    ----------
    features : sequence of str
        Feature names, in the column order of ``X``.
    grid_points : int
        Quantile points per feature.
    sample_size : int
        Reference rows used to measure the dependence.
    top : int
        Reasons per row.
    random_state : int
        Seed of the reference sample.
    """

    def __init__(
        self,
        features: Sequence[str] = (),
        grid_points: int = 12,
        sample_size: int = 400,
        top: int = 3,
        random_state: int = 0,
    ):
        self.features = features
        self.grid_points = grid_points
        self.sample_size = sample_size
        self.top = top
        self.random_state = random_state

    def fit(self, X, y=None, *, predict_proba=None) -> ReasonCoder:
        """Measure the dependence tables of ``predict_proba`` (a function of ``X`` returning
        P(pay)) on a sample of ``X``."""
        if predict_proba is None:
            raise ValueError("ReasonCoder.fit needs predict_proba=<function X -> P(pay)>")
        X = np.asarray(X, dtype=float)
        rng = np.random.default_rng(self.random_state)
        rows = rng.choice(X.shape[0], min(self.sample_size, X.shape[0]), replace=False)
        sample = X[rows]
        self.grids_: list[np.ndarray] = []
        self.tables_: list[np.ndarray] = []  # dependence at each grid point, then at NaN
        for j in range(X.shape[1]):
            grid = quantile_grid(X[:, j], self.grid_points)
            points = np.append(grid, np.nan)
            stacked = np.repeat(sample[None, :, :], points.size, axis=0)
            stacked[:, :, j] = points[:, None]
            logits = _logit(predict_proba(stacked.reshape(-1, X.shape[1])))
            dependence = logits.reshape(points.size, -1).mean(axis=1)
            self.grids_.append(grid)
            self.tables_.append(dependence)
        centred = self.contributions(sample, centre=False)
        self.centres_ = centred.mean(axis=0)
        self.phrases_en_ = reason_phrases(self.features, "en")
        self.phrases_fr_ = reason_phrases(self.features, "fr")
        return self

    def contributions(self, X, centre: bool = True) -> np.ndarray:
        """Per row and feature, the dependence at the row's value (minus its sample mean)."""
        check_is_fitted(self, "tables_")
        X = np.asarray(X, dtype=float)
        # column-major: each feature's column is written contiguously
        out = np.empty(X.shape, dtype=float, order="F")
        for j, (grid, table) in enumerate(zip(self.grids_, self.tables_, strict=True)):
            if grid.size == 0:
                out[:, j] = table[-1]
                continue
            # position = how many grid points are <= the value, and grid.size + 1 for NaN
            # (numpy sorts NaN after every number); the lookup repeats the first entry, so a
            # value below the grid reads the first point, position p the p-th point (the
            # nearest at or below the value) and NaN the table's last entry
            position = np.searchsorted(np.append(grid, np.nan), X[:, j], side="right")
            out[:, j] = np.concatenate((table[:1], table))[position]
        if centre:
            out -= self.centres_
        return out

    def packed_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(grids, sizes, tables) padded into arrays for the compiled lookup: row j holds
        feature j's grid (``sizes[j]`` points) and its centred table (the grid points, then
        NaN's entry at ``sizes[j]``)."""
        check_is_fitted(self, "tables_")
        width = max((g.size for g in self.grids_), default=0)
        grids = np.full((len(self.grids_), max(width, 1)), np.inf)
        tables = np.zeros((len(self.grids_), width + 1))
        sizes = np.array([g.size for g in self.grids_], dtype=np.int64)
        for j, (grid, table) in enumerate(zip(self.grids_, self.tables_, strict=True)):
            grids[j, : grid.size] = grid
            tables[j, : table.size] = table - self.centres_[j]
        return grids, sizes, tables

    def top_reasons(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(feature index, raises?) of the ``top`` largest absolute contributions per row,
        largest first (ties: the lower index); arrays of shape (n, top)."""
        check_is_fitted(self, "tables_")
        X = np.asarray(X, dtype=np.float64)
        k = min(self.top, len(self.grids_))
        index = np.empty((X.shape[0], k), dtype=np.int64)
        value = np.empty((X.shape[0], k), dtype=np.float64)
        if X.shape[0] and k:
            _top_contributions(X, *self.packed_tables(), index, value)
        return index, value > 0

    def reasons(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The top reasons of every row as text: (English, French), joined by ``SEPARATOR``."""
        import polars as pl

        index, raises = self.top_reasons(X)
        code = 2 * index + (~raises).astype(int)
        out = []
        for phrases in (self.phrases_en_, self.phrases_fr_):
            vocabulary = pl.Series(phrases.tolist(), dtype=pl.String)
            columns = [vocabulary.gather(code[:, i]) for i in range(code.shape[1])]
            joined = pl.select(pl.concat_str(columns, separator=SEPARATOR)).to_series()
            out.append(joined.to_numpy())
        return out[0], out[1]


@nb.njit(parallel=True, cache=True, nogil=True)
def _top_contributions(X, grids, sizes, tables, index, value):  # pragma: no cover - numba
    """Per row, the ``index.shape[1]`` features of largest absolute contribution (looked up
    as ``contributions`` does: the grid point at or below the value, the first point below
    the grid, NaN's own entry), largest first, ties to the lower feature index."""
    n, n_features = X.shape
    k = index.shape[1]
    for i in nb.prange(n):
        best = np.full(k, -1.0)
        for j in range(n_features):
            v = X[i, j]
            size = sizes[j]
            if np.isnan(v):
                c = tables[j, size]
            elif size == 0:
                c = tables[j, 0]
            else:
                p = 0
                while p < size and grids[j, p] <= v:
                    p += 1
                c = tables[j, max(p - 1, 0)]
            magnitude = abs(c)
            if magnitude > best[k - 1]:
                slot = k - 1
                while slot > 0 and magnitude > best[slot - 1]:
                    best[slot] = best[slot - 1]
                    index[i, slot] = index[i, slot - 1]
                    value[i, slot] = value[i, slot - 1]
                    slot -= 1
                best[slot] = magnitude
                index[i, slot] = j
                value[i, slot] = c
