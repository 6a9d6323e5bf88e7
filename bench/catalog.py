"""Generate a synthetic catalog of valid reports from the shipped one: varied names and numbers.

Each report keeps the shipped report's structure and texts, with the market and geography names
replaced throughout (titles, paragraphs, FAQs), its own figures (positive sizes, a projection year
after the base year, a stated CAGR consistent with the sizes, so no warnings) and a varying number
of FAQs, companies and regions. Generation is seeded, so a catalog of N is the same in every run.

    python3 -m bench.catalog DATA_DIR N        # writes DATA_DIR/reports/<id>.yaml
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "reports" / "us-intrathecal-pump-market.yaml"

MARKET, GEOGRAPHY = "Intrathecal Pump", "United States"
MARKETS = (
    "Insulin Pump", "Infusion Pump", "Spinal Cord Stimulator", "Cochlear Implant", "Pacemaker",
    "Hearing Aid", "Dialysis Machine", "Ventilator", "Surgical Robot", "Bone Graft", "Stent",
    "Glucose Monitor", "Wound Dressing", "Catheter", "Defibrillator", "Endoscope", "Orthopedic Implant",
    "Dental Implant", "Contact Lens", "Nebulizer",
)
GEOGRAPHIES = (
    "United States", "Canada", "Germany", "France", "Japan", "Brazil", "India", "Australia",
    "United Kingdom", "Mexico", "South Korea", "Italy", "Spain", "Netherlands", "Sweden",
)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD")
SCALES = ("million", "billion")


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _replace(value, old: str, new: str):
    """Replace *old* by *new* in every string of a YAML tree (and its lower-case form)."""
    if isinstance(value, str):
        return value.replace(old, new).replace(old.lower(), new.lower())
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


def variant(shipped: dict, n: int) -> tuple[str, dict]:
    """Return the id and data of the *n*-th synthetic report (deterministic in *n*)."""
    rng = random.Random(n)
    market = MARKETS[n % len(MARKETS)]
    geography = GEOGRAPHIES[(n // len(MARKETS)) % len(GEOGRAPHIES)]
    data = _replace(_replace(shipped, MARKET, market), GEOGRAPHY, geography)
    base_year = rng.randint(2015, 2025)
    span = rng.randint(4, 12)
    base = round(rng.uniform(0.2, 900.0), rng.choice((1, 2)))
    growth = rng.uniform(-0.03, 0.25)  # a shrinking market now and then
    projection = round(base * (1 + growth) ** span, 2)
    if projection <= 0:
        projection = 0.01
    implied = ((projection / base) ** (1 / span) - 1) * 100
    currency, scale = rng.choice(CURRENCIES), rng.choice(SCALES)
    data["figures"] = {
        "base": {"year": base_year, "size": {"amount": base, "currency": currency, "scale": scale}},
        "projection": {"year": base_year + span,
                       "size": {"amount": projection, "currency": currency, "scale": scale}},
        # Over the span of the sizes, so the stated rate agrees with them (no warning).
        "cagr": {"percent": round(implied, 2), "start_year": base_year, "end_year": base_year + span},
    }
    for key in ("faqs", "companies", "regions"):
        entries = data[key]["entries"]
        keep = rng.randint(max(1, len(entries) // 2), len(entries))
        data[key]["entries"] = rng.sample(entries, keep)
    report_id = f"{slug(geography)}-{slug(market)}-{n:04d}"
    return report_id, data


def write_catalog(data_dir: Path, count: int) -> list[str]:
    """Write *count* synthetic reports to DATA_DIR/reports/; return their ids."""
    shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    reports = data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in range(count):
        report_id, data = variant(shipped, n)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        (reports / f"{report_id}.yaml").write_text(text, encoding="utf-8")
        ids.append(report_id)
    return ids


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    ids = write_catalog(Path(sys.argv[1]), int(sys.argv[2]))
    print(f"{len(ids)} reports in {sys.argv[1]}/reports")
