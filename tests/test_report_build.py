"""``hpcplan report``: what the report holds, per machine, and how bad input reads.

The results directories are written through the real store (``Store.write``)
with records built by ``Record`` itself: two kinds of machine, several runs
(history), multi-node runs (scaling), a failed and an unavailable result.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.records import Record
from bench.store import Store
from hpcplan import report
from hpcplan.cli import main
from hpcplan.report import measured as report_measured

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "models"
OK = {"passed": True, "details": "checks passed"}
XEON = {"cpu_model": "Test Xeon 8480+", "cores": 112, "sockets": 2, "base_mhz": 2000.0,
        "hostname": "cn001", "memory_bytes": 512 * 2**30, "isa": ["avx512f"],
        "peak_gflops": {"fp64": 7168.0, "fp32": 14336.0, "fp16": 28672.0, "bf16": 28672.0}}
EPYC = {"cpu_model": "Test EPYC 9654", "cores": 192, "sockets": 2, "base_mhz": 2400.0,
        "hostname": "amd01", "memory_bytes": 768 * 2**30, "isa": ["avx512f"],
        "peak_gflops": {"fp64": 14745.6, "fp32": 29491.2}}
SOFTWARE = {"python": "3.11.7", "numpy": "2.4.6", "numba": "0.68.1", "hpcplan_commit": "abc123"}


def rec(name: str, value: float | None, unit: str, machine: dict, day: int, run: str, *,
        status: str = "ok", nodes: int = 1, ranks: int = 1, params: dict | None = None,
        job: dict | None = None, spread: float = 0.05) -> Record:
    samples = () if value is None else (value * (1 - spread), value * (1 - spread / 2), value)
    return Record(name=name, value=value, unit=unit, machine=machine, status=status,
                  samples=samples, nodes=nodes, ranks=ranks, params=params or {},
                  job=job or {}, software=SOFTWARE, run_id=run,
                  timestamp=f"2026-03-{day:02d}T10:00:00.000000Z",
                  validation=OK if status == "ok" else {"passed": False,
                                                        "details": f"{status} on purpose"})


def make_results(root: Path) -> Path:
    """Three Xeon runs (history, a regression in triad), EPYC runs at 1, 2 and 4 nodes."""
    store = Store(root)
    for i, (fp64, triad) in enumerate(((6100.0, 410.0), (6150.0, 405.0), (6120.0, 300.0))):
        run = f"xeon{i}"
        store.write([
            rec("compute.peak.fp64", fp64, "GFLOP/s", XEON, 1 + i, run,
                params={"theoretical_peak_gflops": 7168.0}),
            rec("compute.peak.fp32", 12000.0 + i, "GFLOP/s", XEON, 1 + i, run,
                params={"theoretical_peak_gflops": 14336.0}),
            rec("compute.peak.fp16", None, "GFLOP/s", XEON, 1 + i, run, status="unavailable"),
            rec("memory.stream.triad", triad, "GB/s", XEON, 1 + i, run),
            rec("memory.stream.scale", triad * 0.95, "GB/s", XEON, 1 + i, run),
            rec("compute.gemm.fp32", 11000.0, "GFLOP/s", XEON, 1 + i, run,
                params={"n": 4096, "precision": "fp32", "theoretical_peak_gflops": 14336.0}),
            rec("compute.mxp.fp32", 5200.0, "GFLOP/s", XEON, 1 + i, run,
                params={"n": 20480, "precision": "fp32", "theoretical_peak_gflops": 14336.0}),
            rec("storage.easy.write", 2100.0, "MiB/s", XEON, 1 + i, run),
        ])
    store.write([rec("compute.peak.fp32", None, "GFLOP/s", XEON, 5, "xeon3", status="failed")])
    for nodes in (1, 2, 4):
        run = f"epyc{nodes}"
        job = {"job_id": str(1000 + nodes), "node_list": f"amd[01-{nodes:02d}]",
               "state": "COMPLETED"}
        store.write([
            rec("compute.hpl.fp64", 9000.0 * nodes * (1 - 0.05 * (nodes - 1)), "GFLOP/s", EPYC,
                10 + nodes, run, nodes=nodes, ranks=2 * nodes, job=job,
                params={"n": 40960 * nodes, "precision": "fp64"}),
            rec("memory.stream.triad", 700.0 * nodes, "GB/s", EPYC, 10 + nodes, run,
                nodes=nodes, ranks=2 * nodes, job=job),
            rec("network.pingpong.latency", 1.8 + 0.1 * nodes, "us", EPYC, 10 + nodes, run,
                nodes=nodes, ranks=2, job=job),
        ])
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def built(results, tmp_path_factory):
    r = report.build(results, None, samples=300, seed=1)
    out = tmp_path_factory.mktemp("report") / "plan.html"
    return r, report.write(r, out)


def test_machines_are_grouped_never_mixed(built):
    r, _ = built
    labels = [g.label for g in r.groups]
    assert labels == ["Test Xeon 8480+, 112 cores per node", "Test EPYC 9654, 192 cores per node"]
    for g in r.groups:
        assert len({rec.machine["cpu_model"] for rec in g.records}) == 1
    keys = {g.key: [f.title for f in r.group_figures[g.key]] for g in r.groups}
    xeon, epyc = (g.key for g in r.groups)
    assert keys[xeon] == ["Roofline", "History"]  # one node count: no scaling figure
    assert keys[epyc] == ["Roofline", "Scaling"]  # one run per node count: no history yet
    # each figure is drawn from its own machine only
    xeon_svg = "".join(f.svg for f in r.group_figures[xeon])
    assert "EPYC" not in xeon_svg and "Xeon" in xeon_svg


def test_roofline_places_kernels_by_arithmetic_intensity(built):
    r, _ = built
    roof = report_measured.roofline(r.groups[0])
    assert roof.bandwidth_gbs == 300.0  # the newest triad
    by_label = {p.label.split(" (")[0]: p for p in roof.points}
    assert by_label["STREAM triad"].intensity == pytest.approx(2 / 24)
    assert by_label["STREAM triad"].gflops == pytest.approx(300.0 * 2 / 24)
    assert by_label["GEMM FP32"].intensity == pytest.approx(2 * 4096 / (3 * 4))
    assert by_label["MxP solve FP32"].intensity == pytest.approx((2 / 3 * 20480 + 1.5) / 8)
    measured = {c.precision: c.gflops for c in roof.ceilings if c.measured}
    assert measured == {"fp64": 6120.0, "fp32": 12002.0}
    theoretical = {c.precision for c in roof.ceilings if not c.measured}
    assert theoretical == {"fp64", "fp32"}  # FP16 unavailable: no ceiling is invented


def test_newest_per_benchmark_with_peak_history_and_failures(built):
    r, _ = built
    rows = {(x["benchmark"], x["nodes"]): x for x in report_measured.latest_rows(r.groups[0])}
    fp64 = rows[("compute.peak.fp64", 1)]
    assert fp64["percent_of_peak"] == pytest.approx(100 * 6120 / 7168)
    assert fp64["ok_results"] == 3
    triad = rows[("memory.stream.triad", 1)]
    assert triad["change_vs_earlier_median"] == pytest.approx(300 / 407.5 - 1)
    assert rows[("compute.peak.fp32", 1)]["status"] == "failed"  # the newest run failed
    assert rows[("compute.peak.fp32", 1)]["value"] is None
    assert rows[("compute.peak.fp16", 1)]["status"] == "unavailable"
    epyc = {(x["benchmark"], x["nodes"]): x for x in report_measured.latest_rows(r.groups[1])}
    assert epyc[("memory.stream.triad", 4)]["per_node"] == pytest.approx(700.0)
    scal = {s.name: s for s in report_measured.scaling(r.groups[1])}
    assert scal["memory.stream.triad"].nodes == (1, 2, 4) and scal["memory.stream.triad"].ideal
    assert not scal["network.pingpong.latency"].ideal  # a latency has no linear ideal


def test_html_is_self_contained_and_answers(built):
    r, written = built
    html = written.html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    # nothing to fetch: no <img>, no stylesheet or script links, figures are inline <svg>
    assert "<img" not in html and not re.findall(r'\ssrc="', html)
    assert not re.search(r"<link\b|https?://(?!www\.w3\.org)", html.split("<body>")[1])
    figures = re.findall(r'<figure id="([^"]+)"><div class="chartbox"><svg\b[^>]*>'
                         r'<title id="[^"]+">([^<]+)</title><desc id="[^"]+">([^<]+)</desc>',
                         html)
    expected = [f.id for f in r.figures] + [f.id for g in r.groups for f in r.group_figures[g.key]]
    assert [f[0] for f in figures] == expected
    # the navigation links every figure, each machine's too (numbered: there are several)
    nav = re.search(r'<nav aria-label="sections">(.*?)</nav>', html).group(1)
    assert re.findall(r'<li class="fig"><a href="#([^"]+)">', nav) == expected
    assert "roofline 1 figure" in nav and len(r.groups) > 1
    assert [f.id for f in r.figures] == ["fig-probability", "fig-compute", "fig-power",
                                         "fig-storage", "fig-world", "fig-tornado"]
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "an id repeats: figures' SVG ids must be prefixed"
    assert 'id="targets-table"' in html and "1000 PF mixed precision" in html
    t = r.projection.targets[0]
    assert f"{t.probability_by_deadline * 100:.0f}%" in html and t.deadline in html
    for section in ("answer", "targets", "power", "storage", "world", "drivers",
                    "constraints-table", "measured", "calibration", "inputs", "runs",
                    "definitions", "files", "caveat"):
        assert f'id="{section}"' in html
    assert "1001" in html and "amd[01-04]" in html  # job ids and node lists of the runs
    assert "UNAVAILABLE" in html and "FAILED" in html
    # provenance: the commit and the absolute results path
    assert str(r.results_dir) in html and r.results_dir.is_absolute()
    assert r.commit is None or r.commit in html


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_first_page_per_target(built):
    r, written = built
    html = written.html.read_text()
    cards = re.findall(r'<div class="card ([a-z-]+)" data-target="([^"]+)" data-status="\1">'
                       r'(.*?)</dl></div>', html, re.S)
    assert [c[1] for c in cards] == [t.key for t in r.projection.targets]
    for (status, _key, body), t in zip(cards, r.projection.targets, strict=True):
        text = html_unescape(re.sub(r"<[^>]+>", " ", body))
        # words and a symbol carry the verdict, not only the colour
        assert {"held": "\u2714 Reached", "not-held": "\u26a0 Reached",
                "missed": "\u2716 NOT reached"}[status] in text
        for label in ("plan's reading", "other reading", "P(by deadline)", "P(kept)",
                      "binding constraint", "top lever"):
            assert label in text, label
        assert f"{t.probability_kept * 100:.0f}% reached and held to {t.sustain_until}" in text
    caveat = re.search(r'<p class="caveat" id="caveat">(.*?)</p>', html).group(1)
    p = r.projection
    n_assumed = sum(i.provenance in ("assumption", "unsourced") for i in p.inputs)
    assert f"Caveat: {n_assumed} of the {len(p.inputs)} uncertain inputs are assumptions" \
        in caveat


def test_calibration_box_exactly_when_nothing_is_calibrated(built, tmp_path):
    r, written = built
    assert not r.calibrated  # the test records carry no node-type tag
    html = html_unescape(written.html.read_text())
    box = re.search(r'<section class="action" id="calibrate">(.*?)</section>', html, re.S)
    assert box, "no calibration box although nothing is calibrated"
    text = box.group(1)
    assert "hpcplan.toml" in text and "[site]" in text and 'node_type = "' in text
    deployed = {d.node_type for d in r.scenario.deployments}
    assert deployed <= set(r.scenario.catalogue)
    for name in deployed:  # the valid values, from the scenario's catalogue
        assert name in text
    chosen = re.search(r'node_type = "([^"]+)"', text).group(1)
    assert chosen in deployed
    assert "laptop" in text and "virtual machine" in text
    md = written.markdown.read_text()
    assert "```toml" in md and f'node_type = "{chosen}"' in md
    # calibrated: no box
    out = tmp_path / "cal.html"
    assert main(["report", "--results", str(FIXTURES / "results"), "--scenario",
                 str(FIXTURES / "small.toml"), "--samples", "0", "--out", str(out)]) == 0
    assert 'id="calibrate"' not in out.read_text()


def test_measurement_honesty(tmp_path):
    """A figure off its theoretical peak, precisions against their lane ratio, the records'
    own notes (IO500 variant, small files, cache state) in the table."""
    store = Store(tmp_path / "res")
    peaks = {"theoretical_peak_gflops": 7168.0, "nominal_clock_mhz": 2000.0,
             "measured_clock_mhz": 2500.0, "percent_of_peak_at_measured_clock": 10.4}
    store.write([
        rec("compute.peak.fp64", 932.0, "GFLOP/s", XEON, 1, "odd", params=peaks),
        rec("compute.peak.fp32", 16773.0, "GFLOP/s", XEON, 1, "odd",
            params={"theoretical_peak_gflops": 14336.0}),
        rec("storage.io500.score", 8.2, "score", XEON, 1, "odd",
            params={"variant": True, "label": "IO500-style variant, not an official IO500 "
                                              "result"}),
        rec("metadata.hard.create", 11808.0, "ops/s", XEON, 1, "odd",
            params={"files_per_rank": 2000, "file_bytes": 3901}),
        rec("storage.easy.read", 1973.0, "MiB/s", XEON, 1, "odd",
            params={"block_bytes": 2**27, "transfer_bytes": 2**20, "likely_cached": True}),
    ])
    r = report.build(tmp_path / "res", None, samples=0)
    rows = {x["benchmark"]: x for x in report_measured.latest_rows(r.groups[0])}
    fp64, fp32 = rows["compute.peak.fp64"], rows["compute.peak.fp32"]
    assert "below 50%" in fp64["check"] and "above 110%" in fp32["check"]
    assert "lanes" in fp64["check"] and "lanes" in fp32["check"]  # 18x against 2x
    assert fp64["clock"] == "at 2.00 GHz nominal clock; 10.4% at the measured 2.50 GHz"
    assert "not an official IO500 result" in rows["storage.io500.score"]["note"]
    assert "2,000 files per rank of 3.81 KiB (small files)" in rows["metadata.hard.create"]["note"]
    assert "likely cached" in rows["storage.easy.read"]["note"]
    assert "128 MiB per rank in 1 MiB transfers" in rows["storage.easy.read"]["note"]
    html = report.write(r, tmp_path / "o.html").html.read_text()
    assert html.count("CHECK: ") >= 4 and "Check before trusting" in html
    fine = report_measured.checks(report.build(make_results(tmp_path / "ok"), None,
                                               samples=0).groups[0])
    # 85% of the FP64 and FP32 peaks at a 2x ratio pass; the MxP solve at 36% is flagged as one
    assert list(fine) == [("compute.mxp.fp32", 1, 1)]
    assert "use a larger n" in fine[("compute.mxp.fp32", 1, 1)][0]
    # turbo: 131% of the nominal-clock peak but 96% at the clock measured in the run is fine;
    # 131% with 120% at the measured clock is still a formula too low
    for at_clock, flagged in ((96.1, False), (120.0, True)):
        turbo = Store(tmp_path / f"turbo{at_clock}")
        turbo.write([rec("compute.peak.fp64", 9390.0, "GFLOP/s", XEON, 1, "t", params={
            "theoretical_peak_gflops": 7168.0, "percent_of_peak_at_measured_clock": at_clock})])
        seen = report_measured.checks(report.build(turbo.root, None, samples=0).groups[0])
        assert (("compute.peak.fp64", 1, 1) in seen) == flagged, seen


def test_changes_since_the_last_report(tmp_path):
    results = make_results(tmp_path / "results")
    out = tmp_path / "same" / "report.html"
    first = report.build(results, None, samples=200, seed=1)
    report.write(first, out)
    assert first.changes is None and 'id="changes"' not in out.read_text()
    assert (tmp_path / "same" / "report-data.json").is_file()
    Store(results).write([rec("memory.stream.triad", 350.0, "GB/s", XEON, 20, "new")])
    second = report.build(results, None, samples=300, seed=1)
    report.write(second, out)
    html = html_unescape(out.read_text())
    assert 'id="changes"' in html and second.changes
    text = " ".join(second.changes)
    assert "Compared with the report generated" in text
    assert "Samples or seed changed" in text
    assert "memory.stream.triad" in text and "+16.7%" in text  # 300 -> 350 GB/s
    for t in second.projection.targets:
        assert any(line.startswith(f"{t.name}: ") for line in second.changes)
    assert "## Changes since the last report" in (tmp_path / "same" / "report.md").read_text()


def test_markdown_and_csv_beside_the_html(built):
    r, written = built
    assert written.markdown == written.html.with_suffix(".md")
    md = written.markdown.read_text()
    assert md.startswith("# hpcplan report: Guangzhou") and "| target / reading |" in md
    assert "Test EPYC 9654" in md and "plan.html" in md
    assert str(r.results_dir) in md
    names = sorted(p.name for p in written.csvs)
    assert names == sorted(f"plan-{n}.csv" for n in ("targets", "series", "drivers", "inputs",
                                                     "sources", "constraints", "calibration",
                                                     "measurements", "runs", "probability",
                                                     "counterfactuals", "binding", "power",
                                                     "shedding", "world", "whatif"))
    html = html_unescape(written.html.read_text())
    # every table of the page is in the Markdown (title and every row), every figure's finding
    captions = re.findall(r"<caption>(.*?)</caption>", html)
    assert len(captions) >= 20
    for c in captions:
        assert f"**{c}**" in md, c
    body_rows = html.count("<tr>") - html.count("<thead><tr>")
    assert sum(1 for line in md.splitlines() if line.startswith("| ")) == \
        body_rows + len(captions)  # each table: its header line and its rows
    for f in r.figures:
        assert f.description in md
    # every CSV is linked from the page, and every link resolves
    links = set(re.findall(r'href="([^"#]+\.csv)"', html))
    assert links == set(names)
    assert all((written.html.parent / x).is_file() for x in links)
    rows = list(csv.DictReader((written.html.parent / "plan-targets.csv").open()))
    # one row per reading, the declared one first
    assert [x["key"] for x in rows] == [t.key for t in r.projection.targets
                                        for _ in t.readings]
    assert rows[0]["reading"] == "declared" and rows[1]["reading"] == "other"
    assert float(rows[0]["probability_by_deadline"]) == r.projection.targets[0]\
        .probability_by_deadline
    series = list(csv.DictReader((written.html.parent / "plan-series.csv").open()))
    assert len(series) == len(r.projection.months) and "mixed_peak_pf_p50" in series[0]
    runs = list(csv.DictReader((written.html.parent / "plan-runs.csv").open()))
    assert {x["job_id"] for x in runs} >= {"1001", "1002", "1004"}


def test_compute_and_storage_fans_are_graded(built):
    """P10-P90 light and P25-P75 darker on both fans; the series CSV carries every quantile."""
    r, written = built
    figs = {f.id: f for f in r.figures}
    for fid in ("fig-compute", "fig-storage"):
        f = figs[fid]
        assert "P25-P75" in f.caption and "P10-P90" in f.caption, fid
        assert "P25-P75" in f.svg and "P10-P90" in f.svg, fid  # the legend and the title
        assert "no P25-P75" not in f.caption
    t = next(t for t in r.projection.targets if not t.metric.startswith("storage"))
    assert f"at {t.deadline}" in figs["fig-compute"].description
    assert "P25-P75" in figs["fig-compute"].description  # the SVG's <desc>
    html = written.html.read_text()
    desc = re.search(r'<figure id="fig-compute">.*?<desc id="[^"]+">([^<]+)</desc>', html, re.S)
    assert "P25-P75" in html_unescape(desc.group(1))
    series = list(csv.DictReader((written.html.parent / "plan-series.csv").open()))
    for metric in ("mixed_peak_pf", "storage_usable_pb", "storage_demand_pb"):
        cols = [f"{metric}_p{q}" for q in (10, 25, 50, 75, 90)]
        assert set(cols) <= set(series[0]), metric
        for row in series:
            values = [float(row[c]) for c in cols]
            assert values == sorted(values), (metric, row["month"])
    band = r.projection.bands["mixed_peak_pf"]
    assert [float(x["mixed_peak_pf_p25"]) for x in series] == [float(v) for v in band.p25]


def test_calibrated_inputs_are_marked(tmp_path):
    out = tmp_path / "cal.html"
    assert main(["report", "--results", str(FIXTURES / "results"), "--scenario",
                 str(FIXTURES / "small.toml"), "--samples", "0", "--out", str(out)]) == 0
    html = out.read_text()
    assert "efficiency.cpu_node.hpl" in html and "measured" in html
    cal = list(csv.DictReader((tmp_path / "cal-calibration.csv").open()))
    assert {"efficiency.cpu_node.hpl", "catalogue.cpu_node.stream_triad"} <= {c["key"]
                                                                               for c in cal}
    inputs = {x["key"]: x for x in csv.DictReader((tmp_path / "cal-inputs.csv").open())}
    assert inputs["efficiency.cpu_node.hpl"]["calibrated"] == "True"


def test_no_results_yet_still_projects(tmp_path, capsys):
    out = tmp_path / "r" / "empty.html"
    assert main(["report", "--results", str(tmp_path / "none"), "--samples", "200",
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"report: {out}\n")
    html = out.read_text()
    assert "No results yet" in html and 'id="calibrate"' in html
    assert 'id="fig-compute"' in html and 'id="targets-table"' in html
    assert not (tmp_path / "none").exists()  # reading creates no results directory


def test_bad_scenario_is_one_sentence_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((FIXTURES / "small.toml").read_text().replace('raw = "20 PB"',
                                                                  'raw = "20 P"'))
    out = tmp_path / "out" / "bad.html"
    assert main(["report", "--scenario", str(bad), "--results", str(tmp_path),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "storage.systems.fs.raw" in err
    assert not out.parent.exists()
    assert main(["report", "--results", str(tmp_path), "--out", str(tmp_path / "x.txt"),
                 "--samples", "0"]) == 2
    assert "must name an .html file" in capsys.readouterr().err
    assert main(["report", "--samples", "-3"]) == 2


def test_no_traceback_from_the_command_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-m", "hpcplan", "report", "--results", str(blocker)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"hpcplan: error: results directory {blocker} exists and is not a " \
                          "directory\n"


def test_report_reads_the_newest_runs_and_calibrates_from_all(results, monkeypatch):
    """At centre scale the report loads only each machine's newest runs (the index answers
    the rest); calibration still sees every run, and the page says how much it shows."""
    from hpcplan.report import core

    monkeypatch.setattr(core, "RUNS_PER_MACHINE", 1)
    r = report.build(results, None, samples=0, seed=1)
    assert {x.run_id for x in r.records} == {"xeon3", "epyc4"}
    assert r.runs_total == 7
    from hpcplan.report.sections import measurement_line

    assert "the newest 2 of the store's 7 runs (up to 1 per machine)" in measurement_line(r)
    monkeypatch.undo()
    full = report.build(results, None, samples=0, seed=1)
    assert full.runs_total == 7 and len({x.run_id for x in full.records}) == 7
    # calibration is the same either way: it reads every run through the index
    assert r.calibration is None or r.calibration.to_dict()["changes"] == \
        full.calibration.to_dict()["changes"]


def test_scaling_uses_the_newest_study_and_fits_the_law(results):
    """A weak-scaled solve gets the scaling law fitted with its band; a scaling study's
    records (one study id) are preferred over older runs at other node counts."""
    from hpcplan.report import core, measured

    r = report.build(results, None, samples=0, seed=1)
    (epyc,) = [g for g in r.groups if g.cpu_model == "Test EPYC 9654"]
    (hpl,) = [s for s in measured.scaling(epyc) if s.name == "compute.hpl.fp64"]
    assert hpl.nodes == (1, 2, 4) and hpl.fit is not None and not hpl.study
    assert hpl.fit.a > 0 and hpl.fit.r1 == pytest.approx(9000.0, rel=0.02)
    fig = r.group_figure(epyc.key, core.SCALING)
    assert fig is not None and "fitted on 1-4 nodes (3 runs)" in fig.description
    assert "64x beyond the largest measured count" in fig.description
    study = {"study_id": "study-20260301-abcd", "job_id": "7", "node_list": "amd01"}
    newer = [rec("compute.hpl.fp64", v, "GFLOP/s", EPYC, 20 + n, f"s{n}", nodes=n, ranks=n,
                 job={**study, "num_nodes": n}) for n, v in ((1, 8000.0), (2, 15000.0))]
    group = measured.group([*epyc.records, *newer])[0]
    (hpl,) = [s for s in measured.scaling(group) if s.name == "compute.hpl.fp64"]
    assert hpl.study == "study-20260301-abcd" and hpl.nodes == (1, 2)
    assert hpl.values == (8000.0, 15000.0) and hpl.fit is not None
