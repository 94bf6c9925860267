"""The report as Markdown: the page's sections in the same order, with the same tables and
each figure by its finding, for a planner to paste into a ticket or e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hpcplan.report import sections as rs

if TYPE_CHECKING:
    from hpcplan.report.core import Report
    from hpcplan.report.tables import Cell


def _md_cell(v: Cell) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    out = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _md_blocks(blocks: Sequence[rs.Block], html: str, files: dict[str, str]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, rs.Card):
            out += [f"### {b.title}", "", f"**{b.verdict}**", ""]
            out += [f"- {label}: {value}" for label, value in b.rows]
        elif isinstance(b, rs.Para):
            prefix = {"caveat": "**Caveat.** ", "warning": "**Warning.** "}.get(b.kind, "")
            text = b.text.removeprefix("Caveat: ") if b.kind == "caveat" else b.text
            out.append(prefix + text)
        elif isinstance(b, rs.Bullets):
            if b.title:
                out += [f"**{b.title}**", ""]
            out += [f"{i + 1}. {x}" if b.kind == "ordered" else f"- {x}"
                    for i, x in enumerate(b.items)]
        elif isinstance(b, rs.Heading):
            out.append(f"### {b.title}")
        elif isinstance(b, rs.TableBlock):
            t = b.table
            out += [f"**{t.title}**", "", md_table(t.headers, t.rows)]
            extra = [t.note] if t.note else []
            if b.csv in files:
                extra.append(f"CSV: {files[b.csv]}")
            if extra:
                out += ["", " ".join(extra)]
        elif isinstance(b, rs.FigureBlock):
            f = b.figure
            out.append(f"**Figure: {f.title}.** {f.description} ({f.caption} In {html}#{f.id}"
                       + (f"; data: {files[f.csv]}" if f.csv in files else "") + ".)")
        elif isinstance(b, rs.Code):
            out += [f"{b.title}:" if b.title else "", "", "```toml", b.text.rstrip("\n"), "```"]
        elif isinstance(b, rs.Box):
            out += [f"### {b.title}", "", *_md_blocks(b.blocks, html, files)]
            continue
        out.append("")
    return out


def markdown(r: Report, html: Path, files: dict[str, str]) -> str:
    """The same sections as the page, in the same order, as Markdown (figures by finding)."""
    p = r.projection
    out = [f"# hpcplan report: {p.scenario_name}", "",
           f"Generated {r.generated} by hpcplan {r.version}"
           + (f" (commit {r.commit})" if r.commit else " (commit unknown)")
           + f"; scenario {p.scenario_file}; "
           + (f"{p.samples:,} Monte Carlo samples, seed {p.seed}." if p.samples else
              "deterministic run only.")
           + f" Results: {r.results_dir}", "",
           f"Full report with figures: {html.name}", ""]
    box = rs.calibration_box(r)
    if box is not None:
        out += _md_blocks([box], html.name, files)
    for s in rs.sections(r):
        out += [f"## {s.title}", ""]
        out += _md_blocks(s.blocks, html.name, files)
    out += ["## Files and provenance", ""]
    out += [f"- {line}" for line in rs.provenance_lines(r, files)]
    out += [f"- {html.name}: the full report (open in a browser)"]
    return "\n".join(out).rstrip("\n") + "\n"
