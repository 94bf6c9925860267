"""The shared options: one order for the results store, one range for samples and seed."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcplan import options
from hpcplan.cli import build_parser, main
from hpcplan.config import SiteConfig
from kernels.errors import UserError

#: Every command that reads or writes the results store.
STORE_COMMANDS = {"plan", "run", "report", "results list", "results show", "results export",
                  "submit", "jobs", "collect", "cancel", "compare", "gate"}


def resolve(results: str | None = None, conf: str = "") -> Path:
    args = argparse.Namespace(results=results)
    return options.results_dir(args, SiteConfig(results_dir=conf, source="site.toml"))


def one_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error sentence of a command refused with exit 2."""
    assert main(list(argv)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpcplan: error: "), lines
    return lines[0]


# --- where the results store is ------------------------------------------------------------

def test_resolution_order_flag_env_config_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(options.RESULTS_ENV, "/from/env")
    assert resolve("/from/flag", "/from/config") == Path("/from/flag")
    assert resolve(None, "/from/config") == Path("/from/env")
    monkeypatch.delenv(options.RESULTS_ENV)
    assert resolve(None, "/from/config") == Path("/from/config")
    assert resolve(None, "") == Path("results")
    monkeypatch.setenv(options.RESULTS_ENV, "")  # set but empty: not given
    assert resolve(None, "/from/config") == Path("/from/config")


def test_home_is_expanded_and_relative_paths_stay_relative(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.delenv(options.RESULTS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("~/r") == tmp_path / "r"
    assert resolve(None, "~/c") == tmp_path / "c"
    assert resolve("sub/r") == Path("sub/r")


@pytest.mark.parametrize(("where", "blank"), [  # an empty variable or key means "not given"
    ("flag", ""), ("flag", "  "), ("env", "  "), ("env", "\t"), ("config", " "),
])
def test_a_blank_results_dir_is_refused(monkeypatch: pytest.MonkeyPatch, where: str,
                                        blank: str) -> None:
    monkeypatch.delenv(options.RESULTS_ENV, raising=False)
    if where == "env":
        monkeypatch.setenv(options.RESULTS_ENV, blank)
    with pytest.raises(UserError, match="empty path"):
        resolve(blank if where == "flag" else None, blank if where == "config" else "")


def test_commands_follow_the_one_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[site]\nresults_dir = "{tmp_path / "from-config"}"\n')
    monkeypatch.setenv(options.RESULTS_ENV, str(tmp_path / "from-env"))
    line = one_line(capsys, "--config", str(cfg), "results", "list")
    assert "from-env" in line and "does not exist" in line
    monkeypatch.delenv(options.RESULTS_ENV)
    assert "from-config" in one_line(capsys, "--config", str(cfg), "results", "list")
    flag = str(tmp_path / "from-flag")
    assert "from-flag" in one_line(capsys, "--config", str(cfg), "results", "list",
                                   "--results", flag)


@pytest.mark.parametrize("argv", [
    ("results", "list"),
    ("report", "--samples", "0"),
    ("compare", "a.json", "b.json"),
])
def test_a_blank_environment_variable_is_one_sentence(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path,
                                                      argv: tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPCPLAN_CONFIG", raising=False)
    monkeypatch.setenv(options.RESULTS_ENV, "   ")
    assert f"${options.RESULTS_ENV} is an empty path" in one_line(capsys, *argv)
    assert list(tmp_path.iterdir()) == []


def test_the_store_and_the_options_agree_on_the_defaults() -> None:
    from bench import store

    assert options.RESULTS_ENV == store.ENV
    assert options.DEFAULT_RESULTS == store.DEFAULT_DIR


# --- samples and seed ----------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ("project", "--samples", "-1"),
    ("project", "--samples", str(options.MAX_SAMPLES + 1)),
    ("project", "--samples", "0", "--seed", "-1"),
    ("project", "--samples", "0", "--seed", str(2**63)),
    ("report", "--samples", "-5"),
    ("report", "--seed", str(2**70)),
    ("plan", "--skip-measure", "--samples", "20000000"),
    ("plan", "--skip-measure", "--seed", "-2"),
])
def test_samples_and_seed_out_of_range_are_refused(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   argv: tuple[str, ...]) -> None:
    line = one_line(capsys, *argv, *(["--results", str(tmp_path)] if argv[0] != "project"
                                     else []))
    flag = "--samples" if "--samples must" in line else "--seed"
    assert f"{flag} must be between 0 and" in line
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_the_range_limits_are_what_numpy_accepts() -> None:
    import numpy as np

    options.check_seed(options.SEED_LIMIT - 1)
    options.check_samples(options.MAX_SAMPLES)
    options.check_samples(0)
    np.random.default_rng(options.SEED_LIMIT - 1)


# --- declared once -------------------------------------------------------------------------

def walk(parser: argparse.ArgumentParser, prefix: str = ""
         ) -> Iterator[tuple[str, argparse.Action]]:
    """(command, action) for every action of every (nested) sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, f"{prefix} {name}".strip())
        elif prefix:
            yield prefix, action


def declared(dest: str) -> dict[str, argparse.Action]:
    return {cmd: a for cmd, a in walk(build_parser()) if a.dest == dest}


def test_every_command_declares_results_the_same_way() -> None:
    found = declared("results")
    assert set(found) >= STORE_COMMANDS
    for cmd, action in found.items():
        assert (action.option_strings, action.metavar, action.help, action.default) == (
            ["--results"], "DIR", options.RESULTS_HELP, None), cmd
    assert "$HPCPLAN_RESULTS, else results_dir of the site config, else ./results" in \
        options.RESULTS_HELP


@pytest.mark.parametrize("dest", ["samples", "seed", "scenario"])
def test_samples_seed_and_scenario_are_declared_the_same_way(dest: str) -> None:
    found = declared(dest)
    assert len(found) >= 2, found
    shapes = {(tuple(a.option_strings), a.metavar, a.help, a.default, a.type)
              for a in found.values()}
    assert len(shapes) == 1, shapes


def test_the_options_module_is_cheap_to_import() -> None:
    code = ("import sys, hpcplan.options; "
            "heavy = {'numpy', 'pandas', 'numba', 'matplotlib', 'bench.store'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
