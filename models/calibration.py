"""Calibration: measured efficiencies from stored results replace assumed ones.

Records tie to the catalogue through their node-type tag (the site config's
``node_type``). Per node type, from validated (status ok) records only:

  compute.solve.numpy / FP64 peak     -> efficiency.<type>.hpl (a model input); LAPACK
  (or compute.hpl.fp64 without it)        partial pivoting, the method HPL requires
  compute.mxp.<p> / <p> peak          -> efficiency.<type>.mxp, when <p> is the
                                          precision the type's mixed-precision
                                          figure counts (a model input); measured
                                          at two or more node counts (a scaling
                                          study), carried to the type's deployed
                                          node count by the fitted weak-scaling
                                          law (models/scaling.py): its P10/P50/P90
                                          as a triangular distribution
  compute.peak.fp64 / FP64 peak       -> catalogue.<type>.fp64_peak_fraction
  compute.peak.fp32 / FP32 peak       -> catalogue.<type>.fp32_peak_fraction
  compute.mxp.speedup                 -> catalogue.<type>.mxp_speedup
  memory.stream.triad (GB/s per node) -> catalogue.<type>.stream_triad
  storage.easy.write (MiB/s per node) -> catalogue.<type>.storage_write
  compute.* RAPL W per node           -> catalogue.<type>.power (the node's own figure):
  (params.energy.watts / nodes)           the largest per-kernel median x the wall
                                          factor (models/power.py); only when the
                                          type's FP64 peak is within 0.5-2x the
                                          measured machine's (the watts then cover the
                                          whole node, not a part of it) and not below
                                          its parts' power

Peaks are the machine's theoretical peaks recorded with each result (per node,
so a figure from N nodes is divided by N). One record gives a fixed value;
several give a triangular distribution (min, median, max); a power is one
value (the projection's power has no distribution). The report lists every
change with its evidence, and what was measured but not applied and why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernels.errors import UserError
from models.catalogue import parts_total, resolve
from models.distributions import Distribution, Fixed, Triangular
from models.errors import ScenarioError
from models.power import LOAD_PREFIX, node_power
from models.schema import MEASURED_UNITS, Efficiency, Figure, NodeType, Provenance, Scenario

if TYPE_CHECKING:
    import pandas

REQUIRED_COLUMNS = ("name", "value", "unit", "status", "node_type", "peak_fp64_gflops",
                    "peak_fp32_gflops", "peak_fp16_gflops", "peak_bf16_gflops")
HPL_RECORDS = ("compute.solve.numpy", "compute.hpl.fp64")
#: The model-input records (efficiencies) and their units; the catalogue figures a record
#: calibrates are declared with its benchmark (``calibrates=`` in bench/registry.py).
EFFICIENCY_UNITS = {"compute.solve.numpy": "GFLOP/s", "compute.hpl.fp64": "GFLOP/s"}


def attributes() -> dict[str, tuple[str, str]]:
    """Record name -> (catalogue attribute, peak column or "" for an absolute per-node figure)."""
    from bench import registry

    return {name: (c.attribute, c.peak_column) for name, c in registry.calibrations().items()}


def expected_units() -> dict[str, str]:
    from bench import registry

    return {**EFFICIENCY_UNITS,
            **{name: c.unit for name, c in registry.calibrations().items()}}


MXP_PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class Change:
    key: str  # the scenario key path that changed
    old: str
    new: str
    evidence: str


@dataclass(frozen=True)
class CalibrationReport:
    source: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...]  # measured but not applied, ignored records, store problems

    @property
    def keys(self) -> set[str]:
        return {c.key for c in self.changes}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "changes": [asdict(c) for c in self.changes],
                "notes": list(self.notes)}


def calibration_names() -> tuple[str, ...]:
    """The records calibration reads; ``load_results`` reads only these."""
    return (*attributes(), *HPL_RECORDS, *(f"compute.mxp.{p}" for p in MXP_PRECISIONS))


#: The columns calibration and its evidence use (``node_watts``: RAPL W per node).
FRAME_COLUMNS = (*REQUIRED_COLUMNS, "nodes", "run_id", "node_watts")
#: The type's FP64 peak over the measured machine's: within this, the watts cover a whole node.
WHOLE_NODE_PEAK_RATIO = (0.5, 2.0)
#: Few distinct values: held as categories, so selecting by them stays fast at 100,000 rows.
CATEGORY_COLUMNS = ("name", "unit", "status", "node_type")


def load_results(root: str | Path, *, notices: list[str] | None = None
                 ) -> tuple[pandas.DataFrame, list[str]]:
    """The stored records calibration reads (``calibration_names()``) as a DataFrame, one row
    per record, and the store's problems.

    Read through the store's index, so no results file is parsed; what the index
    rebuilt or caught up is appended to ``notices``. With ``HPCPLAN_INDEX=off``
    every file is parsed, as before the index.
    """
    from bench import index
    from bench.store import Store

    path = Path(root)
    if not path.is_dir():
        raise UserError(f"results directory {path} does not exist")
    store = Store(path)
    if not index.enabled():
        frame = store.dataframe()
        frame = frame[frame["name"].isin(calibration_names())].reset_index(drop=True)
        return frame, list(store.problems)
    try:
        frame = store.frame(index.Filter(names=calibration_names()), FRAME_COLUMNS, locate=False)
    finally:
        store.close()
    frame = frame.astype({c: "category" for c in CATEGORY_COLUMNS})
    if notices is not None:
        notices.extend(store.notices)
    return frame, list(store.problems)


def _dist(values: list[float]) -> Distribution:
    vs = sorted(values)
    if len(vs) == 1 or vs[0] == vs[-1]:
        return Fixed(vs[0])
    mid = vs[(len(vs) - 1) // 2] if len(vs) % 2 else (vs[len(vs) // 2 - 1] + vs[len(vs) // 2]) / 2
    return Triangular(vs[0], mid, vs[-1])


def _evidence(name: str, rows: Any, values: list[float], what: str) -> str:
    runs = ", ".join(dict.fromkeys(str(r) for r in rows["run_id"]))[:60] if "run_id" in rows \
        else ""
    spread = f"{min(values):.4g}..{max(values):.4g}" if len(values) > 1 else f"{values[0]:.4g}"
    return f"{name}: {len(values)} ok record(s), {what} {spread}" + (f" (runs {runs})" if runs
                                                                     else "")


def calibrate(scenario: Scenario, frame: pandas.DataFrame, *, source: str = "",
              node_map: dict[str, str] | None = None,
              notes: list[str] | None = None) -> tuple[Scenario, CalibrationReport]:
    """A scenario with measured inputs in place of assumed ones, and the report of what changed."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ScenarioError(source or "results", "", f"lacks the column(s) {', '.join(missing)}")
    out_notes = list(notes or [])
    ok = frame[frame["status"] == "ok"]
    if len(ok) < len(frame):
        out_notes.append(f"{len(frame) - len(ok)} record(s) not ok (failed, aborted or "
                         "unavailable) were left out")
    tags = ok["node_type"].fillna("").astype(str)
    if (tags == "").any():
        out_notes.append(f"{int((tags == '').sum())} ok record(s) carry no node-type tag (set "
                         "node_type in the site config) and were left out")
    mapping = dict(node_map or {})
    changes: list[Change] = []
    catalogue = dict(scenario.catalogue)
    efficiency = dict(scenario.efficiency)
    for tag in sorted(set(tags) - {""}):
        nt = mapping.get(tag, tag)
        if nt not in catalogue:
            out_notes.append(f"node type {tag!r} is not in the scenario's catalogue; its "
                             "records were left out")
            continue
        rows = ok[tags == tag]
        eff, eff_changes = _efficiency(scenario, nt, rows, out_notes)
        if eff_changes:
            efficiency[nt] = eff
            changes += eff_changes
        entry, attr_changes = _attributes(catalogue[nt], rows, out_notes)
        if attr_changes:
            catalogue[nt] = entry
            changes += attr_changes
        powered = _power(scenario, catalogue, nt, rows, out_notes)
        if powered is not None:
            catalogue[nt], change = powered
            changes.append(change)
    new = scenario.replace(catalogue=catalogue, efficiency=efficiency)
    return new, CalibrationReport(source, tuple(changes), tuple(out_notes))


def _per_node(rows: Any, name: str, peak_col: str, notes: list[str]) -> list[float]:
    sel = rows[rows["name"] == name]
    if sel.empty:
        return []
    want = expected_units().get(name, sel["unit"].iloc[0])
    bad = sel[sel["unit"] != want]
    if not bad.empty:
        notes.append(f"{len(bad)} {name} record(s) in unit {bad['unit'].iloc[0]!r} instead of "
                     f"{want!r} were left out")
        sel = sel[sel["unit"] == want]
    nodes = sel["nodes"].fillna(1).astype(float) if "nodes" in sel else 1.0
    values = sel["value"].astype(float) / nodes
    if peak_col:
        peak = sel[peak_col].astype(float)
        good = peak.notna() & (peak > 0)
        if not good.all():
            notes.append(f"{int((~good).sum())} {name} record(s) have no theoretical "
                         f"{peak_col.split('_')[1].upper()} peak and were left out")
        values = values[good] / peak[good]
    return [float(v) for v in values if math.isfinite(v)]


def _efficiency(sc: Scenario, nt: str, rows: Any,
                notes: list[str]) -> tuple[Efficiency, list[Change]]:
    eff = sc.efficiency_for(nt)
    changes = []
    # The HPL rule is LU with partial pivoting: NumPy's LAPACK solve is that method;
    # our own no-pivoting FP64 LU is a variant, used only when the other is absent.
    hpl_name = next((n for n in HPL_RECORDS if (rows["name"] == n).any()), HPL_RECORDS[-1])
    hpl = _per_node(rows, hpl_name, "peak_fp64_gflops", notes)
    if hpl:
        if max(hpl) > 1.0:
            notes.append(f"{nt}: HPL above the theoretical FP64 peak ({max(hpl):.2f}): check "
                         "the FMA units per core in the site config; not applied")
        else:
            new = _dist(hpl)
            ev = _evidence(hpl_name, rows[rows["name"] == hpl_name], hpl, "Rmax/Rpeak")
            changes.append(Change(f"efficiency.{nt}.hpl", eff.hpl.describe(), new.describe(), ev))
            eff = dataclasses.replace(eff, hpl=new, hpl_provenance=Provenance(measured=ev))
    basis = resolve(sc.catalogue, nt, sc.definitions).mixed_basis
    for prec in MXP_PRECISIONS:
        name = f"compute.mxp.{prec}"
        vals = _per_node(rows, name, f"peak_{prec}_gflops", notes)
        if not vals:
            continue
        if prec != basis:
            notes.append(f"{nt}: {name} measured ({min(vals):.2f}..{max(vals):.2f} of the "
                         f"{prec.upper()} peak) but the type's mixed-precision figure counts "
                         f"{basis or 'nothing'}; not applied")
            continue
        new = _dist(vals)
        ev = _evidence(name, rows[rows["name"] == name], vals, f"rate / {prec.upper()} peak")
        scaled = _at_scale(sc, nt, rows[rows["name"] == name], f"peak_{prec}_gflops")
        if scaled is not None:
            new, how = scaled
            ev += f"; {how}"
        changes.append(Change(f"efficiency.{nt}.mxp", eff.mxp.describe(), new.describe(), ev))
        eff = dataclasses.replace(eff, mxp=new, mxp_provenance=Provenance(measured=ev))
    return eff, changes


def deployed_nodes(sc: Scenario, nt: str) -> int:
    """The most nodes of type ``nt`` in one system: the scale its efficiency must hold at."""
    return round(max(sc.nodes_by_system(nt).values(), default=0.0))


def _at_scale(sc: Scenario, nt: str, sel: Any, peak_col: str
              ) -> tuple[Distribution, str] | None:
    """The MxP efficiency at the type's deployed scale, when the solve was measured at two or
    more node counts: the weak-scaling law fitted to the runs (models.scaling) gives the
    parallel efficiency there, times the one-node efficiency r1 / peak, as P10/P50/P90."""
    from models.scaling import ScalingInputError, fit_scaling

    if sel["nodes"].nunique() < 2:
        return None
    nodes = sel["nodes"].fillna(1).astype(float)
    peak = sel[peak_col].astype(float).median()  # the probe's: one node's peak
    target = deployed_nodes(sc, nt)
    if not (peak > 0 and target > 0):
        return None
    try:
        fit = fit_scaling(zip(nodes, sel["value"].astype(float), strict=True))
    except ScalingInputError:
        return None
    if fit.suspect:
        return None
    e10, e50, e90 = fit.predict_efficiency(target)
    one = fit.r1 / peak
    if one * e90 > 1.0:
        return None
    return (Triangular(one * e10, one * e50, one * e90),
            f"at {target:,} nodes by the scaling law {fit.law}: {fit.statement(target)}")


def _attributes(entry: Any, rows: Any, notes: list[str]) -> tuple[Any, list[Change]]:
    measured = dict(entry.measured)
    changes = []
    for name, (attr, peak_col) in attributes().items():
        vals = _per_node(rows, name, peak_col, notes)
        if not vals:
            continue
        vs = sorted(vals)
        median = vs[(len(vs) - 1) // 2]
        unit = MEASURED_UNITS[attr]
        ev = _evidence(name, rows[rows["name"] == name], vals,
                       "fraction of peak" if peak_col else f"{unit} per node")
        old = measured.get(attr)
        measured[attr] = Figure(median, unit, f"{median:.4g} {unit}", Provenance(measured=ev))
        changes.append(Change(f"catalogue.{entry.name}.{attr}",
                              old.text if old else "not set", f"{median:.4g} {unit}", ev))
    return dataclasses.replace(entry, measured=measured), changes


def _power(sc: Scenario, catalogue: dict[str, NodeType], nt: str, rows: Any,
           notes: list[str]) -> tuple[NodeType, Change] | None:
    """The entry with its node-level power from the RAPL watts of its compute records, and the
    change; None (with a note saying why) when it is not applied."""
    load = rows[rows["name"].astype(str).str.startswith(LOAD_PREFIX)]
    if load.empty:
        return None
    watts = load["node_watts"].astype(float) if "node_watts" in load else None
    metered = load.iloc[:0] if watts is None else load[watts > 0]
    power = node_power(zip(metered["name"].astype(str), metered["node_watts"].astype(float),
                           strict=True) if not metered.empty else (),
                       sc.facility.rapl_wall_factor)
    if power is None:
        notes.append(f"{nt}: catalogue power kept: no compute record carries RAPL watts "
                     "(unavailable on this machine, or not measured)")
        return None
    figs = resolve(catalogue, nt, sc.definitions)
    measured = f"{nt}: RAPL measured {power.rapl_w:,.0f} W per node"
    peaks = metered["peak_fp64_gflops"].astype(float) / 1e3  # the probe's peak: one node's
    peaks = peaks[peaks > 0]
    if peaks.empty or figs.fp64_tf <= 0:
        lacks = "the records carry" if peaks.empty else "the type gives"
        notes.append(f"{measured} but {lacks} no FP64 peak to show that the watts cover the "
                     "whole node; catalogue power kept")
        return None
    machine_tf = float(peaks.median())
    ratio = figs.fp64_tf / machine_tf
    lo, hi = WHOLE_NODE_PEAK_RATIO
    if not lo <= ratio <= hi:
        why = ("the watts cover the CPUs measured, not the whole node" if ratio > hi else
               "the machine measured is more than one node of this type")
        notes.append(f"{measured} but the type's FP64 peak ({figs.fp64_tf:.3g} TF) is "
                     f"{ratio:.2g}x the measured machine's ({machine_tf:.3g} TF): {why}; "
                     "catalogue power kept")
        return None
    parts = parts_total(catalogue, nt, "power")
    if parts is not None and parts > power.watts:
        notes.append(f"{measured}, {power.watts:,.0f} W with the wall factor, below what "
                     f"its parts draw ({parts:,.0f} W): a node's power includes its parts; "
                     "catalogue power kept")
        return None
    sel = metered[metered["name"].astype(str) == power.kernel]
    ev = f"{_evidence(power.kernel, sel, list(power.samples), 'RAPL W per node')} {power.scaled()}"
    entry = catalogue[nt]
    old = entry.figures.get("power")
    old_text = (old.text if old is not None else
                f"{figs.power_w:,.0f} W (its parts' sum)" if entry.parts else "not set")
    text = f"{power.watts:.0f} W"
    figure = Figure(power.watts, "W", text, Provenance(measured=ev))
    return (dataclasses.replace(entry, figures={**entry.figures, "power": figure}),
            Change(f"catalogue.{nt}.power", old_text, text, ev))
