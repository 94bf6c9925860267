"""The report package: one self-contained HTML page, a Markdown summary and CSV tables
from stored results and a scenario.

The modules, in the order the data flows:

- ``core``: the ``Report`` (projection, records, figures) and ``build``/``write``;
- ``measured``, ``plan``: data builders (per-machine views of the records, the
  scenario's point run per system);
- ``whatif``: the measured machine as the building block when nothing is calibrated
  (nodes, MW and cost per target and reading; never an input of the projection);
- ``figures``: the matplotlib figures, an ordered list the page follows;
- ``sections``: the content as one ordered list of sections and blocks;
- ``html``, ``markdown``, ``tables``: the renderers (``tables`` also serves
  ``hpcplan project`` its terminal tables and writes the CSV files);
- ``changes``: "what moved and why" against the previous report;
- ``records``: how records read on a terminal (``hpcplan run`` and ``results``).

Only ``core``'s light names are imported here, so importing the package never
loads numpy or matplotlib.
"""

from hpcplan.report.core import (
    HISTORY,
    REPORT_DIR,
    REPORT_NAME,
    ROOFLINE,
    SCALING,
    Figure,
    Report,
    Written,
    build,
    default_out,
    draw,
    figure_id,
    out_path,
    write,
)

__all__ = ["HISTORY", "REPORT_DIR", "REPORT_NAME", "ROOFLINE", "SCALING", "Figure", "Report",
           "Written", "build", "default_out", "draw", "figure_id", "out_path", "write"]
