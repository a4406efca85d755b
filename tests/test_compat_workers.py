"""What the middlewares' workers share with the command's process: an argument pickled once
(`compat.pickled`), and the ERROR lines of one command among two running at once
(`compat.error_log`)."""
import logging
import threading

from compat.error_log import ErrorLines
from compat.pickled import Pickled


def test_a_pickled_value_is_unpickled_once_per_process():
    config = {"kernel": {"spatialOrder": 1}, "sizes": list(range(100))}
    pickled = Pickled(config)
    first, again = pickled.load(), pickled.load()
    assert first == config and first is not config
    assert again is first
    # The same value pickled again (another app's argument) is the same object here too.
    assert Pickled(dict(config)).load() is first
    assert Pickled({"kernel": {"spatialOrder": 2}}).load() == {"kernel": {"spatialOrder": 2}}


def test_error_lines_are_the_entering_threads_only():
    log = logging.getLogger("tests.error_lines")

    def other_command():
        log.error("gen3: nothing to run\nsecond line")

    with ErrorLines() as errors:
        log.error("gen2: Failed on dataId=visit=10 ccd=0\ntraceback")
        thread = threading.Thread(target=other_command)
        thread.start()
        thread.join()
        log.warning("not an error")
    assert errors.lines == ["gen2: Failed on dataId=visit=10 ccd=0"]
