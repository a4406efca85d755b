"""`validation.campaign.run_dir`: the run directory fresh, old ones deleted aside, a killed
campaign's leftovers deleted by the next one."""
import signal
import subprocess
import sys
import textwrap
import threading

from validation.campaign import run_dir
from validation.campaign.run_dir import ASIDE_PREFIX, fresh_run_dir


def _old_run(directory, files=50):
    for index in range(files):
        path = directory / f"gen{2 + index % 2}" / f"file{index}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("old")


def _set_aside(workdir):
    return sorted(path for path in workdir.iterdir() if path.name.startswith(ASIDE_PREFIX))


def test_the_old_run_is_set_aside_and_deleted_while_the_block_runs(tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    _old_run(workdir / "run")
    (workdir / "field").mkdir()
    (workdir / ".campaign.lock").write_text("")
    started, release = threading.Event(), threading.Event()
    delete = run_dir._delete

    def held_delete(directories):
        started.set()
        release.wait()
        delete(directories)

    monkeypatch.setattr(run_dir, "_delete", held_delete)
    with fresh_run_dir(workdir) as fresh:
        assert fresh == workdir / "run" and not fresh.exists()
        assert started.wait(10)
        (aside,) = _set_aside(workdir)
        assert len(list((aside / "run").rglob("file*"))) == 50
        fresh.mkdir()
        (fresh / "new").write_text("new")
        release.set()
    assert _set_aside(workdir) == []
    assert sorted(path.name for path in workdir.iterdir()) == [".campaign.lock", "field", "run"]
    assert [path.name for path in fresh.iterdir()] == ["new"]


def test_a_killed_campaigns_leftovers_are_deleted_by_the_next(tmp_path):
    workdir = tmp_path / "work"
    _old_run(workdir / "run")
    # A campaign killed while it deletes: half of the old run gone, the rest set aside.
    script = textwrap.dedent(f"""
        import threading
        import time
        from pathlib import Path
        from validation.campaign import run_dir

        halfway = threading.Event()

        def killed_halfway(directories):
            for file in sorted(directories[0].rglob("file*"))[:25]:
                file.unlink()
            halfway.set()
            time.sleep(600)

        run_dir._delete = killed_halfway
        with run_dir.fresh_run_dir(Path({str(workdir)!r})) as fresh:
            fresh.mkdir()
            (fresh / "new").write_text("new")
            halfway.wait()
            print("half", flush=True)
            time.sleep(600)
    """)
    campaign = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert campaign.stdout.readline() == "half\n"
    finally:
        campaign.send_signal(signal.SIGKILL)
        campaign.wait()
    (aside,) = _set_aside(workdir)
    assert len(list(aside.rglob("file*"))) == 25
    assert [path.name for path in (workdir / "run").iterdir()] == ["new"]

    with fresh_run_dir(workdir) as fresh:
        assert not fresh.exists()
    assert list(workdir.iterdir()) == []


def test_without_an_old_run_nothing_is_set_aside(tmp_path):
    with fresh_run_dir(tmp_path) as fresh:
        assert fresh == tmp_path / "run" and not fresh.exists()
    assert list(tmp_path.iterdir()) == []
