"""`compat.pickled`: the values a worker keeps, found by the pickle's digest."""
import pickle

from compat import pickled
from compat.pickled import Pickled


def test_an_apps_copy_of_the_bytes_finds_the_value_already_loaded():
    shared = Pickled({"scenario": "digest", "sizes": list(range(100))})
    first = shared.load()
    # As an app's argument reaches a worker: the bytes are a new object, equal to the first.
    copy = pickle.loads(pickle.dumps(shared))
    assert copy.data is not shared.data and copy.digest == shared.digest
    assert copy.load() is first


def test_the_least_recently_loaded_value_is_dropped_first():
    pickles = [Pickled({"scenario": number}) for number in range(pickled._KEPT + 1)]
    loaded = [each.load() for each in pickles[:-1]]
    assert pickles[0].load() is loaded[0]  # now the most recently loaded
    pickles[-1].load()  # one more than kept: drops the least recent, the second
    assert pickles[0].load() is loaded[0]
    again = pickles[1].load()
    assert again == loaded[1] and again is not loaded[1]
