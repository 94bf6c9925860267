"""The run directory and ``hpcplan clean``: only marked directories are ever removed."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kernels.errors import UserError
from kernels.workdir import (
    MAGIC,
    MARKER_NAME,
    PREFIX,
    Aborted,
    WorkDir,
    abort_on_signals,
    clean,
    guard_space,
)

ROOT = Path(__file__).resolve().parents[1]


def leftover(target: Path, name: str, marker: dict | None) -> Path:
    """A directory as a killed run leaves it (or an impostor when marker is None)."""
    d = target / name
    (d / "easy").mkdir(parents=True)
    (d / "easy" / "data.000000").write_bytes(b"x" * 100)
    if marker is not None:
        (d / MARKER_NAME).write_text(json.dumps(marker))
    return d


def dead_marker() -> dict:
    return {"magic": MAGIC, "host": "elsewhere", "pid": 1, "created_utc": "x", "kind": "io"}


def test_workdir_is_unique_marked_and_removed(tmp_path: Path) -> None:
    with WorkDir.create(tmp_path) as a, WorkDir.create(tmp_path) as b:
        assert a.path != b.path
        assert a.path.name.startswith(PREFIX) and a.path.parent == tmp_path
        assert json.loads((a.path / MARKER_NAME).read_text())["magic"] == MAGIC
        (a.path / "sub").mkdir()
        (a.path / "sub" / "f").write_bytes(b"1")
    assert os.listdir(tmp_path) == []


def test_workdir_removed_on_failure_but_never_a_replaced_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), WorkDir.create(tmp_path):
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    wd = WorkDir.create(tmp_path)
    os.rename(wd.path, tmp_path / "moved")
    leftover(tmp_path, wd.path.name, dead_marker())  # a different directory, same name
    with pytest.raises(UserError, match="was replaced"):
        wd.cleanup()
    assert (tmp_path / wd.path.name / "easy" / "data.000000").exists()


def test_clean_removes_only_marked_directories(tmp_path: Path) -> None:
    killed = leftover(tmp_path, PREFIX + "io-20250101T000000-n1-99-aa", dead_marker())
    similar = leftover(tmp_path, PREFIX + "io-20250101T000000-n1-99-bb", None)
    forged = leftover(tmp_path, PREFIX + "io-forged", {"magic": "something-else"})
    other = leftover(tmp_path, "results", dead_marker())  # a marker but not our name
    (tmp_path / (PREFIX + "link")).symlink_to(killed, target_is_directory=True)
    (tmp_path / (PREFIX + "file")).write_text("not a directory")

    preview = clean(tmp_path, dry_run=True)
    assert preview.removed == [killed] and killed.exists()
    report = clean(tmp_path)
    assert report.removed == [killed]
    assert not killed.exists()
    skipped = {p.name: why for p, why in report.skipped}
    assert skipped[similar.name] == "no hpcplan marker file"
    assert skipped[forged.name] == "no hpcplan marker file"
    assert skipped[PREFIX + "link"] == "no hpcplan marker file"
    for d in (similar, forged, other):
        assert (d / "easy" / "data.000000").read_bytes() == b"x" * 100


def test_clean_leaves_a_live_run_unless_forced(tmp_path: Path) -> None:
    import socket

    live = leftover(tmp_path, PREFIX + "io-live", {"magic": MAGIC, "host": socket.gethostname(),
                                                   "pid": os.getppid(), "kind": "io"})
    report = clean(tmp_path)
    assert report.removed == [] and "still alive" in report.skipped[0][1]
    assert clean(tmp_path, force=True).removed == [live]


def test_clean_command(tmp_path: Path) -> None:
    killed = leftover(tmp_path, PREFIX + "io-killed", dead_marker())
    keep = leftover(tmp_path, PREFIX + "io-keep", None)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hpcplan", "clean", *args],
                              capture_output=True, text=True, cwd=ROOT, check=False)

    done = cli(str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"removed {killed}" in done.stdout and f"left {keep}: no hpcplan marker" in done.stdout
    assert not killed.exists() and keep.exists()
    missing = cli(str(tmp_path / "absent"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "does not exist" in missing.stderr


def test_guard_accounts_for_inodes_and_fraction(tmp_path: Path) -> None:
    s = guard_space(tmp_path, 1, 1)
    assert s.free_bytes > 0
    with pytest.raises(UserError, match="must be in"):
        guard_space(tmp_path, 1, 1, fraction=1.5)
    with pytest.raises(UserError, match="free inodes"):
        guard_space(tmp_path, 1, s.free_inodes + 1, fraction=1.0)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_unwinds_and_removes_the_run_directory(tmp_path: Path, signum: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(Aborted) as info, abort_on_signals() as received, \
            WorkDir.create(tmp_path) as wd:
        (wd.path / "data").write_bytes(b"x" * 4096)
        os.kill(os.getpid(), signum)
        for _ in range(1000):  # the handler runs between bytecodes
            pass
    assert info.value.signum == signum and received == [signum]
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signum) is before
