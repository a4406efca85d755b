"""Tests of benchmarks/side_by_side.py: the whole-process comparison with HOTPANTS."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "side_by_side.py"


def _run(*arguments, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True,
                          text=True, env=env)


def test_without_hotpants_one_line_error(tmp_path):
    finished = _run("--hotpants", str(tmp_path / "missing"))
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [
        f"side_by_side.py: error: no HOTPANTS executable ({tmp_path / 'missing'})"]


def test_decam_table_with_a_stand_in_for_hotpants(tmp_path):
    """The DECam case end to end, a shell script standing in for HOTPANTS: one row per
    command with wall, CPU and peak memory, the ratio, and our summary line."""
    stand_in = tmp_path / "hotpants"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    finished = _run("--hotpants", str(stand_in), "--cases", "decam", "--rounds", "1",
                    "--workdir", str(tmp_path / "work"))
    assert finished.returncode == 0, finished.stderr
    rows = {line.split()[0]: line.split() for line in finished.stdout.splitlines()
            if line.startswith(("decam ", "         hotpants"))}
    ours, theirs = rows["decam"], rows["hotpants"]
    wall, cpu, peak_mb = (float(value) for value in ours[2:5])
    assert wall > 0 and 0 < cpu and 50 < peak_mb < 2000
    assert float(theirs[2]) < wall  # the stand-in does nothing...
    assert 0 <= float(ours[5]) < 1  # ...so HOTPANTS/diffim is below 1
    assert "decam: mode=convolveTemplate kernel_sum=" in finished.stdout
    assert f"diffim from {Path(__file__).resolve().parent.parent / 'diffim'}" in finished.stdout
