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
    RUN_ENTRIES,
    Aborted,
    WorkDir,
    abort_on_signals,
    clean,
    guard_space,
)

ROOT = Path(__file__).resolve().parents[1]


def leftover(target: Path, kind: str = "io", *, pid: int | None = None,
             host: str | None = None) -> Path:
    """A directory as a killed run leaves it: a real marker, an easy-shape data file."""
    wd = WorkDir.create(target, kind=kind)
    (wd.path / "easy").mkdir()
    (wd.path / "easy" / "data.000000").write_bytes(b"x" * 100)
    marker = json.loads((wd.path / MARKER_NAME).read_text())
    marker["pid"] = 2**31 - 2 if pid is None else pid  # no such process
    if host is not None:
        marker["host"] = host
    (wd.path / MARKER_NAME).write_text(json.dumps(marker))
    return wd.path


def impostor(target: Path, name: str, marker: dict | None) -> Path:
    """A directory that looks like a run's but is not (or an unmarked one when marker is None)."""
    d = target / name
    (d / "easy").mkdir(parents=True)
    (d / "easy" / "data.000000").write_bytes(b"x" * 100)
    if marker is not None:
        (d / MARKER_NAME).write_text(json.dumps(marker))
    return d


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under root with its bytes (files) or kind, links not followed."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link -> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def test_workdir_is_unique_marked_and_removed(tmp_path: Path) -> None:
    with WorkDir.create(tmp_path) as a, WorkDir.create(tmp_path) as b:
        assert a.path != b.path
        assert a.path.name.startswith(PREFIX) and a.path.parent == tmp_path
        marker = json.loads((a.path / MARKER_NAME).read_text())
        assert marker["magic"] == MAGIC and marker["name"] == a.path.name
        assert marker["uid"] == os.geteuid() and marker["pid"] == os.getpid()
        assert a.path.name.endswith(marker["token"][:8]) and len(marker["token"]) == 32
        assert set(marker["entries"]) == set(RUN_ENTRIES) and marker["started"] > 0
        (a.path / "sub").mkdir()
        (a.path / "sub" / "f").write_bytes(b"1")
        os.symlink("/", a.path / "sub" / "root-link")
    assert os.listdir(tmp_path) == []


def test_workdir_removed_on_failure_but_never_a_replaced_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), WorkDir.create(tmp_path):
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    wd = WorkDir.create(tmp_path)
    os.rename(wd.path, tmp_path / "moved")
    impostor(tmp_path, wd.path.name, json.loads((tmp_path / "moved" / MARKER_NAME).read_text()))
    with pytest.raises(UserError, match="was replaced"):
        wd.cleanup()
    assert (tmp_path / wd.path.name / "easy" / "data.000000").exists()


def test_workdir_replaced_by_a_link_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    wd = WorkDir.create(scratch)
    os.rename(wd.path, tmp_path / "moved")
    os.symlink(victim, wd.path)
    with pytest.raises(UserError, match="was replaced"):
        wd.cleanup()
    assert (victim / "precious").read_text() == "keep"


def test_empty_target_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    killed = leftover(tmp_path)
    for call in (lambda: clean(""), lambda: WorkDir.create(""), lambda: clean("  ")):
        with pytest.raises(UserError, match="empty path"):
            call()
    assert killed.exists()


def test_clean_removes_only_genuine_run_directories(tmp_path: Path) -> None:
    killed = leftover(tmp_path)
    similar = impostor(tmp_path, PREFIX + "io-20250101T000000-n1-99-bb", None)
    old = impostor(tmp_path, PREFIX + "io-20250101T000000-n1-99-cc",
                   {"magic": "hpcplan-workdir-v1", "host": "x", "pid": 1})
    forged = impostor(tmp_path, PREFIX + "io-forged", {"magic": "something-else"})
    other = impostor(tmp_path, "results", json.loads((killed / MARKER_NAME).read_text()))
    (tmp_path / (PREFIX + "link")).symlink_to(killed, target_is_directory=True)
    (tmp_path / (PREFIX + "file")).write_text("not a directory")
    # a genuine marker copied into another directory does not make it a run's
    copied = impostor(tmp_path, PREFIX + "io-copied",
                      json.loads((killed / MARKER_NAME).read_text()))

    preview = clean(tmp_path, dry_run=True)
    assert preview.removed == [killed] and killed.exists()
    report = clean(tmp_path)
    assert report.removed == [killed] and not report.failed
    assert not killed.exists()
    skipped = {p.name: why for p, why in report.skipped}
    assert skipped[similar.name] == "no hpcplan marker file"
    assert skipped[forged.name] == "no hpcplan marker file"
    assert "another version" in skipped[old.name]
    assert "marker names another directory" in skipped[copied.name]
    assert skipped[PREFIX + "link"] == "a symbolic link, not a run directory"
    assert skipped[PREFIX + "file"] == "a regular file, not a run directory"
    for d in (similar, forged, other, old, copied):
        assert (d / "easy" / "data.000000").read_bytes() == b"x" * 100


def test_a_forged_marker_with_missing_fields_is_not_trusted(tmp_path: Path) -> None:
    killed = leftover(tmp_path)
    good = json.loads((killed / MARKER_NAME).read_text())
    for key in ("token", "uid", "pid", "entries", "name", "started"):
        bad = {k: v for k, v in good.items() if k != key}
        (killed / MARKER_NAME).write_text(json.dumps(bad))
        report = clean(tmp_path)
        assert report.removed == [] and f"no valid {key!r}" in report.skipped[0][1]
    bad = {**good, "entries": ["easy", "home"]}
    (killed / MARKER_NAME).write_text(json.dumps(bad))
    assert "entries no run writes" in clean(tmp_path).skipped[0][1]
    bad = {**good, "uid": good["uid"] + 1}
    (killed / MARKER_NAME).write_text(json.dumps(bad))
    assert "marker names uid" in clean(tmp_path).skipped[0][1]
    (killed / MARKER_NAME).unlink()
    os.mkfifo(killed / MARKER_NAME)  # a pipe as marker must not hang clean
    assert clean(tmp_path).skipped[0][1] == "no hpcplan marker file"
    assert (killed / "easy" / "data.000000").exists()


def test_clean_leaves_what_no_run_writes_and_says_so(tmp_path: Path) -> None:
    """A marked directory holding user data: the run's files go, the user's stay."""
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    killed = leftover(scratch)
    (killed / "thesis.tex").write_text("not a run's")
    (killed / "easy" / "notes.txt").write_text("not a run's either")
    (killed / "md-easy" / "rank.000000").mkdir(parents=True)
    (killed / "md-easy" / "rank.000000" / "f.00000001").write_bytes(b"run")
    os.symlink(victim, killed / "md-hard")  # a link where a run makes a directory
    os.symlink(victim / "thesis.tex", killed / "easy" / "data.000001")  # a link, not a file
    before = snapshot(victim)

    report = clean(scratch)
    assert report.removed == []
    assert [p for p, _ in report.failed] == [killed]
    left = {str(p.relative_to(killed)): why for p, why in report.left}
    assert left == {
        "thesis.tex": "not a name a run writes",
        "easy/notes.txt": "not a name a run writes",
        "easy/data.000001": "a symbolic link where a run writes a regular file",
        "md-hard": "a symbolic link where a run makes a directory",
    }
    assert not (killed / "easy" / "data.000000").exists()
    assert not (killed / "md-easy").exists()
    assert (killed / MARKER_NAME).exists()  # still recognisable after the user tidies up
    assert snapshot(victim) == before


def test_clean_only_removes_what_the_marker_lists(tmp_path: Path) -> None:
    wd = WorkDir.create(tmp_path, entries=("md-easy",))
    (wd.path / "easy").mkdir()
    (wd.path / "easy" / "data.000000").write_bytes(b"1")
    report = clean(tmp_path)
    assert [str(p.relative_to(wd.path)) for p, _ in report.left] == ["easy"]


def test_clean_does_not_cross_into_another_file_system(tmp_path: Path) -> None:
    killed = leftover(tmp_path)
    inside = killed / "md-easy"
    inside.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(inside)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        (inside / "rank.000000").mkdir()
        report = clean(tmp_path)
        assert [(str(p.relative_to(killed)), why) for p, why in report.left] == [
            ("md-easy", "on another file system (a mount point); not entered")]
        assert (inside / "rank.000000").is_dir()
    finally:
        subprocess.run(["umount", str(inside)], check=False)


def test_clean_leaves_another_users_entries(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make files of another user")
    killed = leftover(tmp_path)
    theirs = killed / "easy" / "data.000001"
    theirs.write_bytes(b"theirs")
    os.chown(theirs, 4242, 4242)
    report = clean(tmp_path)
    assert [(p, why) for p, why in report.left] == [
        (theirs, f"belongs to uid 4242, not to the run's uid {os.geteuid()}")]
    assert theirs.read_bytes() == b"theirs"
    # a whole run directory of another user whose marker claims it is ours
    os.chown(killed, 4242, 4242)
    assert "belongs to uid" in clean(tmp_path).skipped[0][1]


def _swap_after_listing(monkeypatch: pytest.MonkeyPatch, run_dir: Path, victim: Path) -> None:
    """The attacker's move: just after the run directory is listed, its 'easy' sub-directory
    becomes a symbolic link to the victim's directory."""
    real_scandir, real_listdir = os.scandir, os.listdir
    done = []

    def swap() -> None:
        if not done:
            done.append(True)
            os.rename(run_dir / "easy", run_dir.parent / "easy-moved")
            os.symlink(victim, run_dir / "easy")

    class Listed:
        def __init__(self, entries: list) -> None:
            self.entries = entries

        def __enter__(self) -> list:
            return self.entries

        def __exit__(self, *_: object) -> None:
            pass

        def __iter__(self):
            return iter(self.entries)

    def scandir(path=".") -> Listed:
        with real_scandir(path) as it:
            entries = list(it)
        if str(path) == str(run_dir):
            swap()
        return Listed(entries)

    def listdir(path=".") -> list[str]:
        names = real_listdir(path)
        if "easy" in names and MARKER_NAME in names:
            swap()
        return names

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)


def test_a_directory_swapped_for_a_link_during_removal_is_not_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.000000").write_text("the victim's data, named like a run's")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    killed = leftover(scratch)
    before = snapshot(victim)
    _swap_after_listing(monkeypatch, killed, victim)
    report = clean(scratch)
    monkeypatch.undo()
    assert snapshot(victim) == before
    assert killed in [p for p, _ in report.failed]


def test_a_swap_between_examining_and_opening_is_caught(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrowest race: 'easy' is examined as a directory, then swapped before it is opened."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.000000").write_text("keep")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    killed = leftover(scratch)
    real_open = os.open

    def racing_open(path, flags, mode=0o777, *, dir_fd=None):
        if path == "easy" and dir_fd is not None and not (killed / "easy").is_symlink():
            os.rename(killed / "easy", scratch / "easy-moved")
            os.symlink(victim, killed / "easy")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", racing_open)
    report = clean(scratch)
    monkeypatch.undo()
    assert (victim / "data.000000").read_text() == "keep"
    assert [str(p.relative_to(killed)) for p, _ in report.left] == ["easy"]
    assert "not followed" in report.left[0][1]
    # the own clean-up of a run meets the same race the same way
    wd = WorkDir.create(scratch)
    (wd.path / "easy").mkdir()
    killed = wd.path
    monkeypatch.setattr(os, "open", racing_open)
    with pytest.raises(UserError, match="not fully removed"):
        wd.cleanup()
    monkeypatch.undo()
    assert (victim / "data.000000").read_text() == "keep"


def test_clean_leaves_a_live_run_unless_forced(tmp_path: Path) -> None:
    import socket

    live = leftover(tmp_path, pid=os.getppid(), host=socket.gethostname())
    report = clean(tmp_path)
    assert report.removed == [] and "still alive" in report.skipped[0][1]
    assert clean(tmp_path, force=True).removed == [live]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpcplan", *args],
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_clean_command(tmp_path: Path) -> None:
    killed = leftover(tmp_path)
    keep = impostor(tmp_path, PREFIX + "io-keep", None)

    done = cli("clean", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"removed {killed}" in done.stdout and f"left {keep}: no hpcplan marker" in done.stdout
    assert not killed.exists() and keep.exists()
    for bad, words in ((str(tmp_path / "absent"), "does not exist"), ("", "empty path"),
                       (str(keep / "easy" / "data.000000"), "is not a directory")):
        out = cli("clean", bad)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert words in out.stderr and out.stderr.count("\n") == 1
    partly = leftover(tmp_path)
    (partly / "mine.txt").write_text("x")
    out = cli("clean", str(tmp_path))
    assert out.returncode == 1 and f"left {partly / 'mine.txt'}: not a name a run writes" \
        in out.stdout
    missing = cli("--config", str(tmp_path / "absent.toml"), "clean", str(tmp_path))
    assert missing.returncode == 2 and "absent.toml" in missing.stderr
    assert (partly / "mine.txt").exists()


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


def test_clean_removes_what_ior_and_mdtest_leave(tmp_path: Path) -> None:
    """The scoreboard runs IOR and mdtest inside a marked directory: their leftovers are a
    run's own names, so an interrupted anchor run is cleaned up like any other."""
    killed = leftover(tmp_path, kind="anchors")
    (killed / "ior").mkdir()
    for rank in range(2):
        (killed / "ior" / f"ior.data.{rank:08d}").write_bytes(b"x")
    tree = killed / "mdtest" / "#test-dir.0-0" / "mdtest_tree.0"
    (tree / "mdtest_tree.1").mkdir(parents=True)
    (tree / "file.mdtest.0.1").write_bytes(b"")
    (tree / "mdtest_tree.1" / "file.mdtest.1.7").write_bytes(b"")
    report = clean(tmp_path)
    assert report.removed == [killed] and not report.left and not killed.exists()
