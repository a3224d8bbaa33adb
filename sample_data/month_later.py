"""Write the sample export as HR would send it a month later, for ``make demo``: Zoë
O'Brien (000784) moves from Talent Acquisition in GB to Data in NL, and Ashley Lee
(006736) leaves. A sync of it updates and disables them, and moves them between the
department and country groups of ``mappings/default.yaml``.

    python sample_data/month_later.py OUT.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MOVES = {"000784": {"Department": "Data", "CountryCode": "NL", "Office": "Amsterdam",
                    "City": "Amsterdam", "PostalCode": "1016 BR",
                    "StreetAddress": "Herengracht 182", "Company": "Contoso B.V."},
         "006736": {"Status": "Terminated", "TerminationDate": "2026-11-20"}}


def main(out: Path) -> None:
    """Copy ``employees.csv`` to ``out`` with the changes above."""
    with (HERE / "employees.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    for row in rows:
        row.update(MOVES.get(row["EmployeeID"], {}))
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
