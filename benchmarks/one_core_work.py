"""A campaign worker's kind of work on one core, for the machine's ceiling in `bench_engine`.

``python benchmarks/one_core_work.py N`` subtracts a simulated 512 x 512 px
pair (the engine benchmark's detector size) N times with
`AlardLuptonSubtractTask` and prints the seconds the subtractions took. It
prints ``ready`` once the pair is simulated and starts when a line arrives
on its standard input, so that copies run at once. Run with ``OMP_NUM_THREADS=1``, as
the engines' workers are: two copies at once against one copy measure how
much two single-core workers can gain on this machine at this moment,
whatever the engine (shared caches, memory bandwidth, a virtual machine's
host).
"""
import sys
import time

from diffim.sim import PairConfig, simulate_pair
from diffim.subtract.task import AlardLuptonSubtractTask


def main(repeats):
    """Subtract the pair ``repeats`` times; print the wall seconds it took."""
    pair = simulate_pair(PairConfig(size=512, seed=5))
    task = AlardLuptonSubtractTask()
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    for _ in range(repeats):
        task.run(pair.template, pair.science)
    print(f"{time.monotonic() - start:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
