"""mdtest-style metadata kernel on the real file system: rates, checks, faults."""

import os
import subprocess
from pathlib import Path

import pytest

from kernels.errors import UserError
from kernels.metadata import HARD_FILE_BYTES, MDConfig, MDPhase, MetadataRun, run_metadata
from kernels.workdir import WorkDir


@pytest.fixture
def run_dir(tmp_path: Path):
    with WorkDir.create(tmp_path) as wd:
        yield wd.path
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("cfg", [MDConfig.easy(120), MDConfig.hard(120)], ids=["easy", "hard"])
def test_all_phases_run_verify_and_leave_nothing(run_dir: Path, cfg: MDConfig) -> None:
    r = run_metadata(cfg, run_dir)
    assert r.ok and r.verified, r.failure
    assert list(r.phases) == ["create", "stat", "read", "remove"]
    for p in r.phases.values():
        assert p.ops_per_rank == (120,) and p.ops_s > 0
    assert os.listdir(run_dir) == [".hpcplan-run"]


def test_rate_against_hand_computed_timings() -> None:
    # 2 ranks x 500 creates; first start 10.0 s, last end 12.5 s -> 1000 / 2.5 = 400 ops/s
    p = MDPhase("create", (10.0, 10.5), (12.0, 12.5), (500, 500))
    assert p.window_s == pytest.approx(2.5)
    assert p.ops_s == pytest.approx(400.0)


def test_corrupted_byte_and_wrong_size_are_caught(run_dir: Path) -> None:
    run = MetadataRun(MDConfig.hard(20), run_dir)
    run.setup()
    run.phase("create")
    victim = run.path_of(0, 7)
    data = bytearray(victim.read_bytes())
    assert len(data) == HARD_FILE_BYTES
    data[1234] ^= 0x01
    victim.write_bytes(bytes(data))
    assert run.verify_contents() == f"{victim} does not hold the pattern written by rank 0"
    victim.write_bytes(bytes(data[:100]))
    assert "holds 100 bytes, expected 3901" in run.verify_contents()
    from kernels.metadata import MetadataFault

    with pytest.raises(MetadataFault, match="shows a size other than 3901"):
        run.phase("stat")
    run.teardown()
    assert os.listdir(run_dir) == [".hpcplan-run"]


def test_inode_exhaustion_mid_run_fails_cleanly(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=400", "tmpfs",
                           str(mnt)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here ({proc.stderr.strip()})")
    try:
        with WorkDir.create(mnt) as wd:
            run = MetadataRun(MDConfig.easy(150, space_fraction=1.0), wd.path)
            for i in range(300):  # another user takes inodes after the guard passed
                (mnt / f"other.{i}").touch()
            r = run.run()
            assert not r.ok and "no space or inodes left during create" in (r.failure or "")
            assert sorted(os.listdir(wd.path)) == [".hpcplan-run"]
        assert len(os.listdir(mnt)) == 300
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_bad_settings() -> None:
    with pytest.raises(UserError, match="files per rank must be at least 1"):
        MDConfig.easy(0).validate()
    with pytest.raises(UserError, match="metadata mode 'medium'"):
        MDConfig(mode="medium").validate()


def test_python_call_floor_is_measured_beside_the_rates(run_dir: Path) -> None:
    r = run_metadata(MDConfig.easy(50), run_dir)
    assert r.ok and 0 < r.null_call_s < 1e-3
    assert r.floor_ops_s("stat") == pytest.approx(1 / r.null_call_s)
    assert r.floor_ops_s("create") == pytest.approx(1 / (2 * r.null_call_s))


def test_empty_files_are_opened_and_closed_not_read(run_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # mdtest's read of an empty file is open + close; a read call would only add cost.
    def no_read(*_args: object) -> int:
        raise AssertionError("read called on an empty file")

    monkeypatch.setattr(os, "readv", no_read)
    assert run_metadata(MDConfig.easy(30), run_dir).ok
    with pytest.raises(AssertionError, match="read called"):  # files with data are read
        run_metadata(MDConfig.hard(30), run_dir)


def test_a_fault_names_the_full_path(run_dir: Path) -> None:
    run = MetadataRun(MDConfig.easy(20), run_dir)
    run.setup()
    run.phase("create")
    victim = run.path_of(0, 5)
    victim.unlink()
    from kernels.metadata import MetadataFault

    with pytest.raises(MetadataFault, match=f"during stat \\({victim}\\)"):
        run.phase("stat")
    run.teardown()
    assert os.listdir(run_dir) == [".hpcplan-run"]
