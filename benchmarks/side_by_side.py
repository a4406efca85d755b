"""``diffim subtract`` and HOTPANTS side by side, each as the whole process a user runs.

Usage::

    python benchmarks/side_by_side.py [--hotpants PATH] [--rounds N] [--cases 4k decam nircam]
                                      [--workdir DIR] [--size PX]

HOTPANTS (Becker's C tool, the one most users would run instead) comes from
``--hotpants`` or ``$HOTPANTS``; without it the script stops with one line.
For each case both commands run as child processes, ``--rounds`` rounds
(default 3) alternating ours and theirs so that a change of machine load
hits both, and the table gives per command the median wall time, the median
CPU time (user + system of the child, from `os.wait4`: the figure that stays
honest while other processes share the cores), the median peak resident
memory, and HOTPANTS's median over ours (wall and CPU; above 1 we are
faster). The 1-minute load average before and after is printed with it, and
each case's last summary line of ``diffim subtract`` (kernel sum, residual
statistics) so that a speed-up that moves the quality shows.

Cases:

- ``4k``: a simulated pair (``--size``, default 4096 px) written as plain
  FITS images with separate variance images (Gaussian PSFs of sigma 2.0 and
  1.4 px, gain 1, read noise 5, 300 stars per million pixels; true kernel
  sum 0.9), as `write_simulated_pair` makes it. It is simulated once per
  ``--workdir`` and reused. HOTPANTS gets the flags that match it
  (`HOTPANTS_SIMULATED`).
- ``decam``: the real DECam pair of ``tests/data/decam-sfft`` (256 x 256,
  sky-subtracted, PSFs measured by us), HOTPANTS with the gain, read noise
  and saturation of the headers.
- ``nircam``: the real JWST NIRCam cutouts of ``tests/data/nircam-sfft``
  (640 x 512, a cluster field), both tools given the noise maps; ours the
  FWHM 2.3 px (too few stars on the field to measure the PSF).

The peak memory is the child's ``ru_maxrss``, which Linux takes as at least
the resident size of the process that started it: so the script itself
imports no more than the standard library (about 20 MB: the floor of the
column), and the inputs are
prepared (the pair simulated, the headers read) by a child interpreter
(``--prepare CASE``). The commands run ``diffim`` from whatever
``sys.executable`` imports, so ``PYTHONPATH=OTHER_TREE python
benchmarks/side_by_side.py`` measures another build (the line after the
table says which).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ("4k", "decam", "nircam")
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

TRUE_KERNEL_SUM = 0.9
STAR_DENSITY = 300.0
"""Stars per million pixels: enough kernel sources at 1k for a kernel sum within 1 %."""

HOTPANTS_SIMULATED = ["-tu", "60000", "-iu", "60000", "-tl", "500", "-il", "500", "-tg", "1",
                      "-tr", "5", "-ig", "1", "-ir", "5", "-r", "10", "-rss", "15", "-nsx", "10",
                      "-nsy", "10", "-ng", "3", "6", "0.714", "4", "1.428", "2", "2.856",
                      "-ko", "2", "-bgo", "1", "-n", "i", "-c", "t"]
"""HOTPANTS's flags for the simulated pair: its saturation, sky floor, gain and read noise,
and Gaussian bases sized to its PSFs (sigma 0.714-2.856 px)."""

# diffim's command line as typed, in a fresh interpreter.
_DIFFIM = "import sys; from diffim.cli.main import main; sys.exit(main())"


def write_simulated_pair(size, directory):
    """Simulate the benchmark pair and write it as plain FITS files.

    Parameters
    ----------
    size : `int`
        Side of the square images, in pixels.
    directory : `pathlib.Path`
        Where ``science.fits``, ``science_var.fits``, ``template.fits`` and
        ``template_var.fits`` go (overwritten).

    Returns
    -------
    paths : `dict`
        ``{"science": (image, variance), "template": (image, variance)}``.
    """
    from astropy.io import fits

    from diffim.psf.base import SIGMA_TO_FWHM
    from diffim.sim import PairConfig, simulate_pair

    config = PairConfig(size=size, seed=1, star_density=STAR_DENSITY, psf_model="gaussian",
                        science_fwhm=2.0 * SIGMA_TO_FWHM, template_fwhm=1.4 * SIGMA_TO_FWHM,
                        gain=1.0, read_noise=5.0)
    pair = simulate_pair(config)
    paths = {}
    for role, exposure in (("science", pair.science), ("template", pair.template)):
        header = fits.Header()
        header["SATURATE"] = config.saturation
        header["AVSKY"] = getattr(config, f"{role}_sky")
        image, variance = directory / f"{role}.fits", directory / f"{role}_var.fits"
        fits.PrimaryHDU(exposure.image, header=header).writeto(image, overwrite=True)
        fits.PrimaryHDU(exposure.variance).writeto(variance, overwrite=True)
        paths[role] = (image, variance)
    return paths


def simulated_case(size, workdir):
    """Both command lines for the simulated pair (simulated once per ``workdir`` and size)."""
    directory = workdir / f"simulated{size}"
    paths = {role: (directory / f"{role}.fits", directory / f"{role}_var.fits")
             for role in ("science", "template")}
    if not all(path.exists() for pair in paths.values() for path in pair):
        directory.mkdir(parents=True, exist_ok=True)
        paths = write_simulated_pair(size, directory)
    (science, science_variance), (template, template_variance) = (paths["science"],
                                                                  paths["template"])
    ours = ["--science", science, "--template", template, "--science-variance", science_variance,
            "--template-variance", template_variance]
    theirs = ["-inim", science, "-tmplim", template, *HOTPANTS_SIMULATED]
    return ours, theirs


def decam_case():
    """The DECam pair: a later epoch (FWHM 5.2 px) against an earlier one (3.9 px)."""
    from astropy.io import fits

    science = DATA / "decam-sfft/DEC-OBS04a.mini.fits"
    template = DATA / "decam-sfft/DEC-OBS18a.mini.fits"
    flags = []
    for path, prefix in ((science, "i"), (template, "t")):
        header = fits.getheader(path)
        # Sky-subtracted: valid counts reach well below zero.
        flags += [f"-{prefix}g", str(header["GAIN"]), f"-{prefix}r", str(header["RDNOISE"]),
                  f"-{prefix}u", str(header["SATURATE"] - header["AVSKY"]), f"-{prefix}l", "-1000"]
    ours = ["--science", science, "--template", template]
    theirs = ["-inim", science, "-tmplim", template, *flags, "-ko", "2", "-bgo", "1",
              "-n", "i", "-c", "t"]
    return ours, theirs


def nircam_case():
    """The NIRCam cluster cutouts with their noise maps (MJy/sr: no count thresholds)."""
    directory = DATA / "nircam-sfft"
    science = directory / "a2744-2561-f200w.sci.fits"
    template = directory / "a2744-1324-f200w.sci.fits"
    science_noise, template_noise = (directory / "a2744-2561-f200w.err.fits",
                                     directory / "a2744-1324-f200w.err.fits")
    ours = ["--science", science, "--template", template, "--science-noise", science_noise,
            "--template-noise", template_noise, "--science-fwhm", "2.3", "--template-fwhm", "2.3"]
    theirs = ["-inim", science, "-tmplim", template, "-ini", science_noise, "-tni", template_noise,
              "-tu", "1e9", "-iu", "1e9", "-tl", "-1e9", "-il", "-1e9", "-ko", "2", "-bgo", "1",
              "-n", "i", "-c", "t"]
    return ours, theirs


def run_process(command):
    """Run ``command``; its wall time (s), CPU time (user + system, s), peak RSS (MB) and
    the last line of its standard output.

    Raises
    ------
    RuntimeError
        If the command fails (its standard error's last line says why).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen([str(part) for part in command], stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: no 4k run left behind
            process.kill()
            process.wait()
            raise
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode(errors="replace").splitlines()
        if process.returncode != 0:
            last = err.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{command[0]} failed ({process.returncode}): "
                               f"{last[-1] if last else ''}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, (lines or [""])[-1]


def side_by_side(ours, theirs, hotpants, rounds, workdir):
    """Alternate the two commands ``rounds`` times; per command the medians and ours'
    last summary line."""
    diffim_output, hotpants_output = workdir / "diffim-difference.fits", workdir / "hotpants.fits"
    commands = {
        "diffim": [sys.executable, "-c", _DIFFIM, "subtract", *ours, "--output", diffim_output],
        "hotpants": [hotpants, *theirs, "-outim", hotpants_output]}
    samples = {name: [] for name in commands}
    summary = ""
    for _ in range(rounds):
        for name, command in commands.items():
            for output in (diffim_output, hotpants_output):
                output.unlink(missing_ok=True)
            wall, cpu, rss, last = run_process(command)
            samples[name].append((wall, cpu, rss))
            if name == "diffim":
                summary = last
    medians = {name: [statistics.median(column) for column in zip(*values)]
               for name, values in samples.items()}
    return medians, summary


def prepare(case, size, workdir):
    """The case's two argument lists (strings) and where ``diffim`` is imported from."""
    import diffim

    ours, theirs = (simulated_case(size, workdir) if case == "4k"
                    else decam_case() if case == "decam" else nircam_case())
    return {"ours": [str(part) for part in ours], "theirs": [str(part) for part in theirs],
            "diffim": str(Path(diffim.__file__).parent)}


def _prepared(case, size, workdir):
    """`prepare` run by a child interpreter, so that this process stays small.

    Raises
    ------
    RuntimeError
        If the child fails (its standard error's last line says why).
    """
    finished = subprocess.run([sys.executable, __file__, "--prepare", case, "--size", str(size),
                               "--workdir", str(workdir)], capture_output=True, text=True)
    if finished.returncode != 0:
        last = finished.stderr.strip().splitlines()
        raise RuntimeError(f"preparing {case} failed: {last[-1] if last else finished.returncode}")
    return json.loads(finished.stdout)


def main(argv=None):
    """Parse ``argv`` and print the table (or, with ``--prepare``, one case's arguments)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hotpants", default=os.environ.get("HOTPANTS"),
                        help="the hotpants executable (default: $HOTPANTS)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (default 3)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--size", type=int, default=4096,
                        help="side of the simulated pair in pixels (default 4096)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the simulated pair and the outputs here (reused when present)")
    parser.add_argument("--prepare", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare(args.prepare, args.size, args.workdir)))
        return
    if not (args.hotpants and os.path.isfile(args.hotpants)
            and os.access(args.hotpants, os.X_OK)):
        parser.exit(1, f"side_by_side.py: error: no HOTPANTS executable "
                       f"({args.hotpants or 'give --hotpants PATH or set $HOTPANTS'})\n")
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        _report(args, workdir)


def _report(args, workdir):
    """Print the header, one pair of rows per case, and the summary lines."""
    print(f"python {sys.executable}; hotpants {args.hotpants}; {args.rounds} rounds, medians")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'case':<8} {'command':<9} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} "
          f"{'HOTPANTS/diffim wall':>21} {'CPU':>6}")
    summaries, where = [], ""
    for case in args.cases:
        prepared = _prepared(case, args.size, workdir)
        where = prepared["diffim"]
        medians, summary = side_by_side(prepared["ours"], prepared["theirs"], args.hotpants,
                                        args.rounds, workdir)
        (wall, cpu, rss), (their_wall, their_cpu, their_rss) = (medians["diffim"],
                                                                medians["hotpants"])
        print(f"{case:<8} {'diffim':<9} {wall:7.2f} {cpu:7.2f} {rss:8.0f} "
              f"{their_wall / wall:21.2f} {their_cpu / cpu:6.2f}")
        print(f"{'':<8} {'hotpants':<9} {their_wall:7.2f} {their_cpu:7.2f} {their_rss:8.0f}",
              flush=True)
        summaries.append(f"{case}: {summary.split(': ', 1)[-1]}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"diffim from {where}")
    print("\n".join(summaries))


if __name__ == "__main__":
    main()
