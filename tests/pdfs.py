"""PDFs built at test time with fpdf2, for the reader tests and the browser test.

`Report` is a page with a running header and a footer that numbers the pages ("Page 2 of 3");
`add_paragraph` writes a paragraph on it, `filler` makes distinct, plausible prose to fill pages.
"""

from __future__ import annotations

import random

from fpdf import FPDF

HEADER = "Harbour Trust - Annual Report 2023"
FOOTER = "Confidential draft for the board"


def filler(seed: int, sentences: int) -> str:
    """Distinct, plausible prose: no two lines repeat, so none looks like a running header."""
    rng = random.Random(seed)
    months = ["January", "March", "April", "June", "August", "October", "November"]
    subjects = ["the harbour master", "the trust's engineers", "a team of divers", "the finance committee",
                "volunteers from the sailing club", "the pilot boat crew"]
    verbs = ["inspected", "repaired", "surveyed", "repainted", "measured", "cleared"]
    objects = ["the north quay wall", "the lock gates", "the fuel pontoon", "three mooring chains",
               "the slipway", "the navigation buoys", "the old fish market roof"]
    return " ".join(f"In {rng.choice(months)} {rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} "
                    f"at a cost of {rng.randint(2, 90) * 1000:,} pounds." for _ in range(sentences))


class Report(FPDF):
    """An A4 document whose every page has the running header and a footer with its page number."""

    def header(self) -> None:
        self.set_font("helvetica", size=8)
        self.cell(0, 6, HEADER, align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.cell(0, 5, FOOTER, align="L")
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def add_paragraph(pdf: FPDF, text: str, size: float = 11, style: str = "") -> None:
    """`text` as a paragraph in Helvetica of `size` points, then a small gap."""
    pdf.set_font("helvetica", style, size=size)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
