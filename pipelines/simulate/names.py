"""Names, addresses, phone numbers, e-mails and references (latin-1 safe: every creditor file
can be written in its own encoding)."""

from __future__ import annotations

import numpy as np

FIRST = [
    "Marie",
    "Jean",
    "Pierre",
    "Michel",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Philippe",
    "Alain",
    "Nicolas",
    "Sophie",
    "Catherine",
    "Christophe",
    "Stéphane",
    "Julien",
    "Céline",
    "Sandrine",
    "Laurent",
    "Frédéric",
    "Valérie",
    "Éric",
    "David",
    "Thomas",
    "Camille",
    "Léa",
    "Hugo",
    "Manon",
    "Lucas",
    "Chloé",
    "Inès",
    "Mohamed",
    "Karim",
    "Fatima",
    "Amina",
    "Yasmine",
    "Rachid",
    "Kévin",
    "Aurélie",
    "Jérôme",
    "Hélène",
    "Françoise",
    "Gaëlle",
    "Noémie",
    "Loïc",
    "Anaïs",
    "Maëlle",
    "Joël",
    "Benoît",
    "Clément",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Benali",
    "Haddad",
    "Nguyen",
    "Ferreira",
    "Boyer",
    "Lemaître",
    "Bénard",
    "Hoarau",
    "Payet",
    "Grondin",
]
TRADES = [
    "Bâtiment",
    "Boulangerie",
    "Transports",
    "Plomberie",
    "Électricité",
    "Menuiserie",
    "Restauration",
    "Conseil",
    "Informatique",
    "Paysages",
    "Garage",
    "Coiffure",
    "Imprimerie",
    "Pharmacie",
    "Traiteur",
    "Nettoyage",
    "Architecture",
]
FORMS = ("SARL", "SAS", "EURL", "SA", "SASU", "EI")
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Gambetta",
    "rue des Écoles",
    "place de l'Église",
    "chemin des Vignes",
    "allée des Tilleuls",
    "rue Pasteur",
    "avenue de la Gare",
    "impasse du Moulin",
    "rue du Général Leclerc",
)
# (postcode, city) by zone: metropolitan, then the overseas departments of params.ZONES
CITIES = (
    (
        ("75011", "Paris"),
        ("75018", "Paris"),
        ("13005", "Marseille"),
        ("69003", "Lyon"),
        ("31000", "Toulouse"),
        ("06000", "Nice"),
        ("44000", "Nantes"),
        ("67000", "Strasbourg"),
        ("34000", "Montpellier"),
        ("33000", "Bordeaux"),
        ("59000", "Lille"),
        ("35000", "Rennes"),
        ("51100", "Reims"),
        ("76600", "Le Havre"),
        ("42000", "Saint-Étienne"),
        ("83000", "Toulon"),
        ("38000", "Grenoble"),
        ("21000", "Dijon"),
        ("49000", "Angers"),
        ("30000", "Nîmes"),
        ("93200", "Saint-Denis"),
        ("57000", "Metz"),
        ("20000", "Ajaccio"),
        ("20200", "Bastia"),
        ("01000", "Bourg-en-Bresse"),
        ("02100", "Saint-Quentin"),
        ("87000", "Limoges"),
        ("63000", "Clermont-Ferrand"),
        ("80000", "Amiens"),
        ("29200", "Brest"),
    ),
    (("97110", "Pointe-à-Pitre"), ("97139", "Les Abymes")),
    (("97200", "Fort-de-France"), ("97232", "Le Lamentin")),
    (("97300", "Cayenne"), ("97310", "Kourou")),
    (("97400", "Saint-Denis"), ("97410", "Saint-Pierre")),
    (("97600", "Mamoudzou"), ("97615", "Pamandzi")),
)
MOBILE_PREFIX = ("06", "0690", "0696", "06940", "0692", "06392")
LANDLINE_PREFIX = ("01", "05908", "0596", "05943", "0262", "0269")
MAIL_DOMAINS = ("orange.fr", "gmail.com", "free.fr", "laposte.net", "sfr.fr", "hotmail.fr")
BAD_DOMAINS = ("gmial.com", "orange.fr.invalid", "hotmial.fr", "freee.fr")


def _ascii(text: str) -> str:
    table = str.maketrans("àâäéèêëîïôöùûüçÉÈÊÎÔÛÇœ", "aaaeeeeiioouuucEEEIOUCo")
    return text.translate(table).lower().replace(" ", "").replace("'", "")


def _number(prefix: str, digits: np.ndarray) -> str:
    """A ten-digit French national number starting with ``prefix``."""
    if prefix == "06":  # metropolitan mobiles
        prefix = "06" + "12456"[digits[9] % 5]
    elif prefix == "01":  # metropolitan landlines 01–05
        prefix = "0" + str(1 + digits[9] % 5) + str(1 + digits[8] % 8)
    return prefix + "".join(str(x) for x in digits[: 10 - len(prefix)])


def identities(rng, dtype, zone, mobile, chunk: int) -> dict[str, np.ndarray]:
    """Display names, debtor keys, addresses, phones and e-mails (strings, one per debtor)."""
    m = len(dtype)
    fi = rng.integers(0, len(FIRST), m)
    la = rng.integers(0, len(LAST), m)
    tr = rng.integers(0, len(TRADES), m)
    fo = rng.integers(0, len(FORMS), m)
    st = rng.integers(0, len(STREETS), m)
    num = rng.integers(1, 120, m)
    city_pick = rng.random(m)
    digits = rng.integers(0, 10, (m, 2, 10))
    dom = rng.integers(0, len(MAIL_DOMAINS), m)
    bad = rng.integers(0, len(BAD_DOMAINS), m)
    sep = rng.integers(0, 3, m)
    out: dict[str, list] = {
        k: []
        for k in (
            "name",
            "key",
            "address",
            "postcode",
            "city",
            "tz_name",
            "phone",
            "phone2",
            "email",
            "email_bad",
            "email_malformed_text",
        )
    }
    from pipelines.simulate.params import ZONES

    for j in range(m):
        first, last = FIRST[fi[j]], LAST[la[j]]
        z = int(zone[j])
        if dtype[j]:
            name = f"{FORMS[fo[j]]} {last} {TRADES[tr[j]]}"
            siren = (chunk * 1_000_003 + j) * 37 % 900_000_000 + 100_000_000
            key = str(siren)
            local = "compta"
            domain = f"{_ascii(last)}-{_ascii(TRADES[tr[j]])}.fr"
        else:
            name = f"{first} {last.upper()}"
            key = f"DK{chunk:03d}{j:07d}"
            local = f"{_ascii(first)}{'._'[sep[j] % 2] if sep[j] < 2 else ''}{_ascii(last)}"
            domain = MAIL_DOMAINS[dom[j]]
        cities = CITIES[z]
        postcode, city = cities[int(city_pick[j] * len(cities))]
        prefix = MOBILE_PREFIX[z] if mobile[j] else LANDLINE_PREFIX[z]
        out["name"].append(name)
        out["key"].append(key)
        out["address"].append(f"{num[j]} {STREETS[st[j]]}")
        out["postcode"].append(postcode)
        out["city"].append(city)
        out["tz_name"].append(ZONES[z][1])
        out["phone"].append(_number(prefix, digits[j, 0]))
        out["phone2"].append(_number(LANDLINE_PREFIX[z], digits[j, 1]))
        out["email"].append(f"{local}@{domain}")
        out["email_bad"].append(f"{local}@{BAD_DOMAINS[bad[j]]}")
        out["email_malformed_text"].append(f"{local}.{domain}")
    return {k: np.array(v, dtype=object) for k, v in out.items()}


def case_refs(creditors, cred, debtor, dtype, chunk: int) -> dict[str, np.ndarray]:
    """case_ref per case and the creditor's customer reference (debtor_ref)."""
    n = len(cred)
    case_ref = np.empty(n, dtype=object)
    debtor_ref = np.empty(n, dtype=object)
    for j in range(n):
        prefix = creditors[cred[j]]["case_prefix"]
        case_ref[j] = f"{prefix}{chunk:03d}{j:06d}"
        kind = "P" if dtype[debtor[j]] else "C"
        debtor_ref[j] = f"{prefix}{kind}{chunk:03d}{debtor[j]:06d}"
    return {"case_ref": case_ref, "debtor_ref": debtor_ref}
