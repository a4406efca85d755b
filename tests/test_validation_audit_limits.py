"""The audit is bounded: a hostile or broken file is one line of problems, the others are
still audited, and nothing but regular files is read."""
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest

from validation.audit import audit_paths
from validation.audit.limits import (MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES,
                                     LimitExceeded, time_limit)

GOOD = "config.doSelectSources = True\n"
# 608 bytes that safe_load builds cheaply but that expand to 10^9 strings when walked.
BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] +
    [f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
     for previous, name in zip("abcdefgh", "bcdefghi")]) + "\ntasks: {x: *i}\n"


def problems_by_file(records):
    return {os.path.basename(record.path): record.problems for record in records}


def test_hostile_files_are_one_line_each_and_the_others_are_audited(tmp_path):
    """Run in a child with bounded memory and time: unbounded, these exhaust or hang it."""
    (tmp_path / "good_override.py").write_text(GOOD)
    (tmp_path / "laughs.yaml").write_text(BILLION_LAUGHS)
    (tmp_path / "deep_override.py").write_text("config.doSubtract = " + "-" * 200_000 + "1\n")
    (tmp_path / "big_config.py").write_text("#" * (MAX_FILE_BYTES + 1))
    (tmp_path / "nested.yaml").write_text("tasks: " + "[" * (MAX_YAML_DEPTH + 5)
                                          + "]" * (MAX_YAML_DEPTH + 5) + "\n")
    os.mkfifo(tmp_path / "fifo_config.py")
    assert len(BILLION_LAUGHS) < 700

    def bounded():
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    finished = subprocess.run(
        [sys.executable, "-m", "validation.cli", "audit", str(tmp_path), "/dev/zero", "--json"],
        capture_output=True, text=True, timeout=120, preexec_fn=bounded)
    assert finished.returncode == 0, finished.stderr[-2000:]
    records = json.loads(finished.stdout)["files"]
    problems = {os.path.basename(record["path"]): record["problems"] for record in records}
    not_parsed = f"not parsed: {tmp_path}/"
    assert problems == {
        "big_config.py": [f"{not_parsed}big_config.py: larger than {MAX_FILE_BYTES} bytes"],
        "deep_override.py": [f"{not_parsed}deep_override.py: nested too deeply to parse"],
        "fifo_config.py": [f"{not_parsed}fifo_config.py: not a regular file (a FIFO)"],
        "good_override.py": [],
        "laughs.yaml": [f"{not_parsed}laughs.yaml: YAML with aliases expanded has more than "
                        f"{MAX_YAML_NODES} nodes"],
        "nested.yaml": [f"{not_parsed}nested.yaml: YAML nested deeper than {MAX_YAML_DEPTH}"],
        "zero": ["not parsed: /dev/zero: not a regular file (a device)"],
    }
    (good,) = [record for record in records if record["path"].endswith("good_override.py")]
    assert good["features"]  # doSelectSources: audited as ever


def test_a_file_loading_a_hostile_one_is_still_audited(tmp_path):
    (tmp_path / "deep.py").write_text("config.doSubtract = " + "not " * 100_000 + "x\n")
    (tmp_path / "main_override.py").write_text(f"config.load('deep.py')\n{GOOD}")
    problems = problems_by_file(audit_paths([str(tmp_path)]))
    assert problems["deep.py"] == [f"not parsed: {tmp_path}/deep.py: nested too deeply to parse"]
    records = {os.path.basename(record.path): record for record in audit_paths([str(tmp_path)])}
    assert records["main_override.py"].features  # its own doSelectSources


def test_parsing_time_is_bounded():
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="parsing took more than 0.2 CPU s"):
        with time_limit(0.2):
            while True:
                pass
    assert time.monotonic() - started < 5


def test_waiting_is_not_parsing_time():
    """The bound is CPU time: a loaded machine (here: sleeping) does not trip it."""
    with time_limit(0.1):
        time.sleep(0.3)
    assert signal.getsignal(signal.SIGPROF) == signal.SIG_DFL  # the handler is restored


def test_other_busy_threads_are_not_parsing_time():
    """Only the parsing thread's CPU counts: a thread spinning beside it does not trip it."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        with time_limit(0.2):
            time.sleep(1.0)  # the spinner holds the GIL much of this second, on its own clock
    finally:
        stop.set()
        spinner.join()
