"""Campaign throughput on the engines: local with one worker, Parsl with one and two workers.

A campaign of 8 data IDs (two science visits x a 2 x 2-detector SimCam field)
and two scenarios (the gen2 monolith against the gen3 monolith, and against
the split gen3 pipeline): 16 data IDs through both middlewares, compared and
recorded, at two detector sizes (`SIZES`):

- 512 x 512 px, on all three engines: a data ID is about a second of a
  worker's CPU, so the engine's own cost per data ID shows (Parsl against
  the local engine) and so do the costs paid once per campaign or per
  worker (start-up, each worker's first calls);
- 2048 x 2048 px, on Parsl with one and two workers: a data ID is about
  seven CPU seconds, nearer a survey's 4k detectors (about four times
  that again), where those fixed costs are spread over the work.

Each round is one whole
``run_campaign`` (engine start, ingest, scenarios, audit), three rounds per
engine; each field is simulated once beforehand. Each Parsl worker is one
core: its OpenMP and BLAS pools run one thread, and so do the compiled loops
that take a thread count (warps, coadds, checksums:
`diffim._core._threads.default_threads`; `validation.campaign.engine.parsl_config`;
``tests/test_validation_engines.py`` asks a worker), so one worker never takes
both cores and two can gain up to 2x; the local engine runs in this process,
its OpenMP loops on one thread at the small size
(`validation.campaign.run.openmp_threads_for`). ``extra_info`` holds the
medians over the rounds of

- ``scenario_seconds``: from the end of the ingest to the last scenario
  recorded (the part the workers share; each round's in
  ``scenario_seconds_rounds``), and ``data_ids_per_second`` over it;
- ``main_cpu_seconds_per_data_id`` and ``worker_cpu_seconds_per_data_id``: CPU
  time of this process (graph building, reading back, comparing, recording:
  the serial part) and of the Parsl worker pools over the same span (their
  start and imports, while the field is ingested, are not in it);
- ``worker_run_queue_seconds_per_data_id``: over the same span, how long the
  pools' threads were ready to run but waited for a core (the kernel's
  ``schedstat``): the machine's other jobs and the campaign's own processes
  taking the cores, not the engine waiting for work or for a lock (that is
  ``worker_off_cpu_seconds_per_data_id``: each worker process's time over the
  span less its CPU and its wait for a core; it holds the start-up, idle
  workers, lock waits, reads and writes);
- ``start_up_seconds``: from the end of the ingest to the first app in a Parsl
  worker (the workers' logs; 0 on the local engine): the part of the engine's
  overhead paid once per campaign, not per data ID;
- ``load_average``: the machine's 1-minute load average before and after
  (this machine's cores are shared: read the numbers beside it).

When the module is done one line per size compares them, e.g.
``engines (8 data IDs x 2 scenarios, 512 px): parsl x2 1.82x parsl x1 (...; 1.95x once the
workers are ready); workers ready 3.5 s after the ingest with 1, 3.4 s with 2; parsl x1
+0.31 s per data ID over local x1 (then +0.09 s per data ID); CPU per data ID:
main 0.4 s, workers 3.1 s (x2: 3.3 s; 2 workers on free cores: at most 1.79x); workers
per data ID waiting for a core 0.2 s, off a core 0.3 s (x2: 0.9 s, 0.5 s); load
0.9-2.3``, and a last line ``this machine now: two copies of a worker's work at once
1.90x one``: the
speed-up of two Parsl workers over one (over the whole scenario phase, and after the
workers' start-up, which a campaign of any size pays once), the engine's overhead per
data ID (Parsl with one worker against the same work in this process; the workers'
start-up apart), the bound the serial part puts on the speed-up whatever else runs
on the machine, and where the workers' wall time went besides their CPU: waiting for a
core is the machine's share (a second worker on a loaded machine mostly waits there),
off a core the engine's. Last, the machine's own ceiling (`test_machine_ceiling`): two
single-core processes of a worker's kind of work at once against one, measured right
after the engines (this machine's two virtual cores gave 1.1x-2.0x from one sitting to
the next, and no engine can do better than the machine).
"""
import datetime
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from validation.campaign import load_campaign, run_campaign
from validation.campaign.dataset import prepare_dataset

SCENARIOS = 2
DATA_IDS = 8
ROUNDS = 3
CAMPAIGN = """
campaign: engine_benchmark
dataset: {{field_files: {field}}}
data_ids: {{visit: [10, 11], detector: [0, 1, 2, 3]}}
scenarios:
  - name: coadd_template
    features: [coadd_template]
  - name: split_coadd
    features: [split_tasks]
    gen3_pipeline: coadd_template
    gen3_config:
      subtractImages: {{makeKernel.kernel.active.spatialKernelOrder: 1,
                       makeKernel.kernel.active.spatialBgOrder: 2}}
"""

SIZES = {512: (("local", 1), ("parsl", 1), ("parsl", 2)), 2048: (("parsl", 1), ("parsl", 2))}
"""Detector size (px) -> the engines and worker counts its campaign runs on."""

RESULTS = {}
"""(size, engine, workers) -> the run's ``extra_info``; ``"machine"`` -> that of
`test_machine_ceiling`."""


@pytest.fixture(scope="module")
def campaign_of_size(tmp_path_factory):
    """A function of the detector size: the campaign file, its field simulated and written on
    first use."""
    root, made = tmp_path_factory.mktemp("engines"), {}

    def campaign(size):
        if size not in made:
            field = prepare_dataset({"simulated_field": {"size": size, "seed": 5,
                                                         "detectors": [2, 2],
                                                         "star_density": 400.0}},
                                    root / f"field{size}")
            path = root / f"engines{size}.yaml"
            path.write_text(textwrap.dedent(CAMPAIGN.format(field=field.root)))
            made[size] = load_campaign(path)
        return made[size]

    return campaign


@pytest.fixture(scope="module", autouse=True)
def comparison_lines(request):
    """Print one line per detector size comparing its engines, then the machine's ceiling, once
    the module's benchmarks are done."""
    yield
    lines = [_comparison(size) for size in SIZES
             if (size, "parsl", 1) in RESULTS and (size, "parsl", 2) in RESULTS]
    if "machine" in RESULTS:
        lines.append(f"this machine now: two copies of a worker's work at once "
                     f"{RESULTS['machine']['two_copies_speedup']:.2f}x one")
    plugins = request.config.pluginmanager
    with plugins.getplugin("capturemanager").global_and_fixture_disabled():
        for line in lines:
            plugins.getplugin("terminalreporter").write_line(line)


def _comparison(size):
    """The line comparing Parsl's two workers with one at ``size`` px (and with the local
    engine where it ran)."""
    one, two = RESULTS[size, "parsl", 1], RESULTS[size, "parsl", 2]
    main, workers = one["main_cpu_seconds_per_data_id"], one["worker_cpu_seconds_per_data_id"]
    runs = [RESULTS[key] for key in RESULTS if key[0] == size]
    line = (f"engines ({DATA_IDS} data IDs x {SCENARIOS} scenarios, {size} px): parsl x2 "
            f"{one['scenario_seconds'] / two['scenario_seconds']:.2f}x parsl x1 "
            f"({one['data_ids_per_second']:.3f} -> {two['data_ids_per_second']:.3f} "
            f"data IDs/s; {_after_start_up(one) / _after_start_up(two):.2f}x once the "
            f"workers are ready); workers ready {one['start_up_seconds']:.1f} s after the ingest "
            f"with 1, {two['start_up_seconds']:.1f} s with 2; ")
    if (size, "local", 1) in RESULTS:
        local = RESULTS[size, "local", 1]
        overhead = (one["scenario_seconds"] - local["scenario_seconds"]) / (SCENARIOS * DATA_IDS)
        per_app = (_after_start_up(one) - local["scenario_seconds"]) / (SCENARIOS * DATA_IDS)
        line += (f"parsl x1 {overhead:+.2f} s per data ID over local x1 (then {per_app:+.2f} s "
                 f"per data ID); ")
    return line + (
        f"CPU per data ID: main {main:.2f} s, workers {workers:.2f} s (x2: "
        f"{two['worker_cpu_seconds_per_data_id']:.2f} s; 2 workers on free cores: at "
        f"most {(main + workers) / (main + workers / 2):.2f}x); workers per data ID "
        f"waiting for a core {one['worker_run_queue_seconds_per_data_id']:.2f} s, off a "
        f"core {one['worker_off_cpu_seconds_per_data_id']:.2f} s (x2: "
        f"{two['worker_run_queue_seconds_per_data_id']:.2f} s, "
        f"{two['worker_off_cpu_seconds_per_data_id']:.2f} s); load "
        f"{min(r['load_average'][0] for r in runs):.1f}-"
        f"{max(r['load_average'][1] for r in runs):.1f}")


@pytest.mark.parametrize("size, engine, workers",
                         [(size, *run) for size, runs in SIZES.items() for run in runs])
def test_campaign(benchmark, campaign_of_size, tmp_path, size, engine, workers):
    """Whole campaign runs; the scenario phase's throughput (median of the rounds) in
    ``extra_info``."""
    rounds, marks = [], {}

    def progress(line):
        # CPU seconds so far: this process's (all its threads) and the Parsl pools' processes'
        # (alive until the engine stops, so read at each scenario's end).
        seconds = (time.process_time(), _pool_seconds(tmp_path))
        marks["ingested" if line.startswith("ingested") else "last"] = time.time(), seconds

    def run():
        done = run_campaign(campaign_of_size(size), tmp_path / "work",
                            str(tmp_path / "results.sqlite3"),
                            engine=engine, workers=workers, progress=progress)
        (start, (main_start, pools_start)), (end, (main_end, pools_end)) = (
            marks["ingested"], marks["last"])
        parsl_dir = tmp_path / "work" / "run" / "parsl"
        # Per process over the span (0 before a process started): CPU, waiting for a core.
        spent = {pid: [now - pools_start.get(pid, (0.0, 0.0))[kind] for kind, now in
                       enumerate(seconds)] for pid, seconds in pools_end.items()}
        worker_cpu = sum(cpu for cpu, _ in spent.values())
        run_queue = sum(waited for _, waited in spent.values())
        # Off a core: the workers' time over the span neither on a core nor waiting for one.
        first_app, worker_pids = _worker_logs(parsl_dir)
        off_cpu = sum(end - start - sum(spent[pid]) for pid in worker_pids & set(spent))
        rounds.append((end - start, main_end - main_start, worker_cpu,
                       0.0 if first_app is None else first_app - start, run_queue, off_cpu))
        return done

    load_before = os.getloadavg()[0]
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    seconds, main, worker_cpu, start_up, run_queue, off_cpu = (
        statistics.median(values) for values in zip(*rounds))
    info = {"scenario_seconds": round(seconds, 2),
            "scenario_seconds_rounds": [round(values[0], 2) for values in rounds],
            "start_up_seconds": round(start_up, 2),
            "data_ids_per_second": round(SCENARIOS * DATA_IDS / seconds, 4),
            "main_cpu_seconds_per_data_id": round(main / SCENARIOS / DATA_IDS, 3),
            "worker_cpu_seconds_per_data_id": round(worker_cpu / SCENARIOS / DATA_IDS, 3),
            "worker_run_queue_seconds_per_data_id": round(run_queue / SCENARIOS / DATA_IDS, 3),
            "worker_off_cpu_seconds_per_data_id": round(off_cpu / SCENARIOS / DATA_IDS, 3),
            "load_average": (load_before, os.getloadavg()[0])}
    benchmark.extra_info.update(info)
    RESULTS[size, engine, workers] = info


def _after_start_up(info):
    """Seconds of a run's scenario phase after its workers' first app (the median rounds)."""
    return info["scenario_seconds"] - info["start_up_seconds"]


def _worker_logs(parsl_dir):
    """When the first app started in a Parsl worker (seconds since the epoch; `None` without
    Parsl) and the workers' process ids, from their logs under ``parsl_dir``, read once."""
    starts, pids = [], set()
    for log in parsl_dir.rglob("worker_*.log"):
        with log.open() as lines:
            for line in lines:
                if "Received executor task" in line:
                    starts.append(datetime.datetime.strptime(line[:23],
                                                             "%Y-%m-%d %H:%M:%S.%f").timestamp())
                elif "]  Worker " in line and line.rstrip().endswith(" started"):
                    pids.add(int(line.split()[3]))
    return min(starts, default=None), pids


def _pool_seconds(directory):
    """Process id -> (user + system CPU seconds, seconds its live threads were ready to run but
    waited for a core) so far, of the Parsl worker pools started under ``directory`` and of
    their processes (fork server and workers; none on the local engine)."""
    stats, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                commands[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, ..., utime (14), stime.
            fields = stat[stat.rindex(")") + 2:].split()
            stats[int(entry.name)] = int(fields[1]), int(fields[11]) + int(fields[12])
    pools = {pid for pid, command in commands.items()
             if b"worker_pool" in command and str(directory).encode() in command}
    members, grown = set(pools), True
    while grown:
        children = {pid for pid, (parent, _) in stats.items() if parent in members} - members
        members |= children
        grown = bool(children)
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (stats[pid][1] / tick, _run_queue_seconds(pid)) for pid in members & set(stats)}


def _run_queue_seconds(pid):
    """Seconds the live threads of process ``pid`` were ready to run but waited for a core."""
    waited = 0
    for thread in Path(f"/proc/{pid}/task").glob("*"):
        try:
            waited += int((thread / "schedstat").read_text().split()[1])
        except OSError:
            continue
    return waited / 1e9


def test_machine_ceiling(benchmark):
    """Two copies of a worker's kind of work at once against one copy (`one_core_work`): how
    much two single-core workers can gain on this machine now, whatever the engine; the sum of
    the copies' rates over one copy's rate (median of the rounds) in ``extra_info``."""
    speedups = []

    def run():
        (solo,) = _copies_seconds(1)
        speedups.append(sum(solo / seconds for seconds in _copies_seconds(2)))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["two_copies_speedup"] = round(statistics.median(speedups), 3)
    RESULTS["machine"] = benchmark.extra_info


def _copies_seconds(copies, repeats=12):
    """Seconds each of ``copies`` processes of `one_core_work` took, started together."""
    script = Path(__file__).with_name("one_core_work.py")
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [subprocess.Popen([sys.executable, str(script), str(repeats)], env=environment,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(copies)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    seconds = [float(process.communicate()[0]) for process in processes]
    assert all(process.returncode == 0 for process in processes)
    return seconds
