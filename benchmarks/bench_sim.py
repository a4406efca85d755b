"""Simulating an LSST-detector-sized (4k x 4k) science/template pair."""
from diffim.sim import PairConfig, simulate_pair


def test_simulate_pair_4k(benchmark):
    pair = benchmark.pedantic(simulate_pair, args=(PairConfig(size=4096, seed=1),), rounds=3)
    assert pair.science.shape == (4096, 4096)
