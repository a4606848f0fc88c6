"""Generate the sample data set shipped with the classification template.

The data are synthetic: clinical measurements of skin lesions, drawn from a
small generative model whose dependencies follow the ABCDE rule of dermatology
(Asymmetry, Border, Colour, Diameter, Evolving). They are realistic enough to
make the template's metrics meaningful, noisy enough that a logistic regression
is good but not perfect, and contain nothing about real people.

The output is deterministic (fixed seed, numpy only) so that regenerating it
gives the same bytes, and the gates in the template's ``mlprod.yaml`` stay
valid. Run it from anywhere::

    python scripts/make_sample_data.py            # writes the template's data/lesions.csv
    python scripts/make_sample_data.py --rows 500 --output /tmp/lesions.csv
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import numpy as np

SEED = 20240701
N_ROWS = 3000

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1]
    / "templates"
    / "classification"
    / "{{cookiecutter.project_name}}"
    / "data"
    / "lesions.csv"
)

COLUMNS = (
    "lesion_id",
    "visit_date",
    "age",
    "sex",
    "anatomic_site",
    "diameter_mm",
    "asymmetry",
    "border_irregularity",
    "color_count",
    "evolving",
    "diagnosis",
)

CLASSES = ("nevus", "seborrheic_keratosis", "melanoma")
SEXES = ("female", "male")
SITES = ("head/neck", "trunk", "upper extremity", "lower extremity", "palms/soles")

FIRST_DAY = np.datetime64("2022-01-01")
LAST_DAY = np.datetime64("2024-12-31")

# Melanoma is a little more frequent in men in this clinic; the overall mix
# stays near nevus 70 %, seborrheic keratosis 18 %, melanoma 12 %.
CLASS_PRIOR = {
    "female": (0.715, 0.180, 0.105),
    "male": (0.685, 0.180, 0.135),
}

# Where lesions appear, per class and sex (probabilities over SITES). Men's
# melanomas sit mostly on the trunk (the back), women's on the legs: the
# classic epidemiology, and what makes the sex slice interesting.
SITE_PROBS = {
    ("nevus", "female"): (0.10, 0.42, 0.18, 0.25, 0.05),
    ("nevus", "male"): (0.10, 0.50, 0.18, 0.17, 0.05),
    ("seborrheic_keratosis", "female"): (0.30, 0.45, 0.12, 0.12, 0.01),
    ("seborrheic_keratosis", "male"): (0.32, 0.47, 0.11, 0.09, 0.01),
    ("melanoma", "female"): (0.15, 0.25, 0.15, 0.40, 0.05),
    ("melanoma", "male"): (0.20, 0.55, 0.12, 0.10, 0.03),
}

# Age: (mean, sd) in years, clipped to 18..90.
AGE = {"nevus": (40.0, 15.0), "seborrheic_keratosis": (63.0, 12.0), "melanoma": (56.0, 15.0)}

# Diameter: log-normal (median mm, sigma of the log).
DIAMETER = {"nevus": (4.6, 0.38), "seborrheic_keratosis": (7.5, 0.40), "melanoma": (7.4, 0.45)}

# Asymmetry score 0/1/2 (symmetric, one axis, both axes).
ASYMMETRY = {
    "nevus": (0.62, 0.29, 0.09),
    "seborrheic_keratosis": (0.42, 0.40, 0.18),
    "melanoma": (0.17, 0.37, 0.46),
}

# Border irregularity: Binomial(8, p) segments out of 8.
BORDER_P = {"nevus": 0.22, "seborrheic_keratosis": 0.33, "melanoma": 0.50}

# Number of colours: 1 + Binomial(5, p).
COLOR_P = {"nevus": 0.14, "seborrheic_keratosis": 0.26, "melanoma": 0.42}

# Reported change over time. A melanoma on one's own back is seen changing
# less often than one on the leg, so men's melanomas are "evolving" less often.
# Together with the higher prior in men, this gives the model a recall of
# melanoma that differs between the sexes by a few points: a real slice gap,
# within the template's gate.
EVOLVING_P = {
    ("nevus", "female"): 0.08,
    ("nevus", "male"): 0.07,
    ("seborrheic_keratosis", "female"): 0.16,
    ("seborrheic_keratosis", "male"): 0.15,
    ("melanoma", "female"): 0.58,
    ("melanoma", "male"): 0.45,
}

MISSING_DIAMETER_RATE = 0.01


def _visit_dates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw visit dates whose density grows linearly over time.

    The clinic gets busier, so about a fifth of the visits fall on or after
    2024-07-01, the default cutoff of the time split.
    """
    n_days = int((LAST_DAY - FIRST_DAY).astype(int)) + 1
    days = np.arange(n_days)
    weights = 1.0 + 0.6 * days / (n_days - 1)
    offsets = rng.choice(days, size=n, p=weights / weights.sum())
    return np.sort(FIRST_DAY + offsets.astype("timedelta64[D]"))


def generate(n: int = N_ROWS, seed: int = SEED) -> list[dict[str, object]]:
    """Return ``n`` synthetic lesion records, ordered by visit date.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seed of the random generator; the same seed gives the same rows.

    Returns
    -------
    list of dict
        One dict per row with the keys of ``COLUMNS``; a missing diameter is
        ``None``.
    """
    rng = np.random.default_rng(seed)
    dates = _visit_dates(rng, n)
    sexes = rng.choice(SEXES, size=n, p=(0.52, 0.48))

    rows: list[dict[str, object]] = []
    for i in range(n):
        sex = str(sexes[i])
        diagnosis = str(rng.choice(CLASSES, p=CLASS_PRIOR[sex]))

        mean, sd = AGE[diagnosis]
        age = int(np.clip(round(rng.normal(mean, sd)), 18, 90))
        # Older patients carry larger lesions, whatever the diagnosis.
        median, sigma = DIAMETER[diagnosis]
        diameter = median * (1.0 + 0.004 * (age - 50)) * np.exp(rng.normal(0.0, sigma))
        diameter = float(np.clip(round(diameter, 1), 1.0, 40.0))

        rows.append(
            {
                "lesion_id": f"L{i + 1:05d}",
                "visit_date": str(dates[i]),
                "age": age,
                "sex": sex,
                "anatomic_site": str(rng.choice(SITES, p=SITE_PROBS[diagnosis, sex])),
                "diameter_mm": diameter,
                "asymmetry": int(rng.choice(3, p=ASYMMETRY[diagnosis])),
                "border_irregularity": int(rng.binomial(8, BORDER_P[diagnosis])),
                "color_count": 1 + int(rng.binomial(5, COLOR_P[diagnosis])),
                "evolving": int(rng.random() < EVOLVING_P[diagnosis, sex]),
                "diagnosis": diagnosis,
            }
        )

    # Measurements get lost: a few diameters are missing, so pipelines impute.
    for i in np.flatnonzero(rng.random(n) < MISSING_DIAMETER_RATE):
        rows[i]["diameter_mm"] = None
    return rows


def write_csv(rows: list[dict[str, object]], path: Path) -> None:
    """Write ``rows`` as CSV to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A sibling temporary file (created with the usual umask, unlike mkstemp's
    # 0600) so a crash never leaves a half-written CSV in the template.
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=N_ROWS, help="number of rows")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="CSV file to write")
    args = parser.parse_args(argv)

    rows = generate(args.rows, args.seed)
    write_csv(rows, args.output)
    counts = {c: sum(r["diagnosis"] == c for r in rows) for c in CLASSES}
    mix = ", ".join(f"{c} {100 * k / len(rows):.1f}%" for c, k in counts.items())
    print(f"wrote {len(rows)} rows to {args.output} ({mix})")


if __name__ == "__main__":
    main()
