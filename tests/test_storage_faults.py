"""Faults and bad input: a real small tmpfs (ENOSPC), a read-only mount, a file system that
refuses O_DIRECT (ramfs), and a fault-injecting write layer for EIO, short writes and fsync
errors (no real device can be made to fail on demand)."""

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kernels.errors import UserError
from kernels.metadata import MDConfig, run_metadata
from kernels.storage import MIB, IOConfig, PosixOps, run_bandwidth
from kernels.workdir import WorkDir, check_target


@contextmanager
def mounted(where: Path, fstype: str, options: str = "") -> Iterator[Path]:
    where.mkdir()
    cmd = ["mount", "-t", fstype, *(["-o", options] if options else []), fstype, str(where)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount {fstype} here ({proc.stderr.strip()}); the fake write "
                    f"layer tests below still cover the fault path")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_enospc_mid_run_fails_and_removes_files(tmp_path: Path) -> None:
    with mounted(tmp_path / "small", "tmpfs", "size=8m") as mnt, WorkDir.create(mnt) as wd:
        cfg = IOConfig(block_bytes=3 * MIB, transfer_bytes=MIB, space_fraction=1.0)
        from kernels.storage import BandwidthRun

        run = BandwidthRun(cfg, wd.path)  # the guard passes: 3 MiB of 8 MiB
        # someone else fills the file system after the check
        with open(mnt / "filler", "wb") as fh:
            fh.write(b"\0" * (6 * MIB))
        r = run.run()
        assert not r.ok and "no space left on device" in (r.failure or "")
        assert os.listdir(wd.path / "easy") == []
        os.unlink(mnt / "filler")
    assert not wd.path.exists()


def test_guard_refuses_a_run_larger_than_the_free_space(tmp_path: Path) -> None:
    with mounted(tmp_path / "small", "tmpfs", "size=8m,nr_inodes=64") as mnt, \
            WorkDir.create(mnt) as wd:
        with pytest.raises(UserError, match=r"plans 16\.0 MiB"):
            run_bandwidth(IOConfig(block_bytes=16 * MIB, transfer_bytes=MIB), wd.path)
        with pytest.raises(UserError, match="free inodes"):
            run_metadata(MDConfig.easy(200), wd.path)
        assert sorted(os.listdir(wd.path)) == [".hpcplan-run"]


def test_read_only_file_system_is_refused(tmp_path: Path) -> None:
    with mounted(tmp_path / "ro", "tmpfs", "size=1m") as mnt:
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        with pytest.raises(UserError, match="read-only file system"):
            WorkDir.create(mnt)


def test_file_system_refusing_o_direct_gets_a_clear_error(tmp_path: Path) -> None:
    cfg = IOConfig(block_bytes=MIB, transfer_bytes=MIB, direct=True)
    with mounted(tmp_path / "ram", "ramfs") as mnt, WorkDir.create(mnt) as wd, \
            pytest.raises(UserError, match="refuses O_DIRECT; run without direct I/O"):
        run_bandwidth(cfg, wd.path)


def test_missing_target_and_file_target(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        check_target(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is not a directory"):
        WorkDir.create(tmp_path / "f")


def test_unwritable_target_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    # root ignores permission bits; the immutable attribute binds root too
    proc = subprocess.run(["chattr", "+i", str(locked)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i is not supported here ({proc.stderr.strip()})")
    try:
        with pytest.raises(UserError, match="is not writable"):
            WorkDir.create(locked)
        assert os.listdir(locked) == []
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)


def _failing_ops(kind: str, after: int = 2) -> PosixOps:
    calls = {"n": 0}

    def pwrite(fd: int, buf, off: int) -> int:
        calls["n"] += 1
        if calls["n"] > after and kind == "eio":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        if calls["n"] > after and kind == "short":
            return os.pwrite(fd, buf[: len(buf) // 2], off)
        return os.pwrite(fd, buf, off)

    def fsync(fd: int) -> None:
        if kind == "fsync":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fsync(fd)

    return PosixOps(pwrite=pwrite, fsync=fsync)


@pytest.mark.parametrize("kind, words", [
    ("eio", "I/O error (EIO) while writing"),
    ("short", f"short write: {MIB // 2} of {MIB} bytes at offset {2 * MIB}"),
    ("fsync", "fsync failed"),
])
def test_injected_faults_fail_the_run_and_remove_files(tmp_path: Path, kind: str,
                                                       words: str) -> None:
    with WorkDir.create(tmp_path) as wd:
        r = run_bandwidth(IOConfig(block_bytes=4 * MIB, transfer_bytes=MIB), wd.path,
                          ops=_failing_ops(kind))
        assert not r.ok and not r.verified
        assert words in (r.failure or ""), r.failure
        assert r.reads == []
        assert os.listdir(wd.path / "easy") == []
    assert os.listdir(tmp_path) == []
