"""gen2's command line as the tests type it: parsing arguments, and the one line of a usage error."""
import pytest

from compat.gen2.image_difference import ImageDifferenceCmdLineTask

NO_DATA = ["--id", "visit=99"]
"""A data ID with no data: the once-per-repo steps run, no data reference does."""


def parse(args):
    """``imageDifference.py``'s parsed command line for ``args``."""
    parser = ImageDifferenceCmdLineTask._makeArgumentParser()
    return parser.parse_args(config=ImageDifferenceCmdLineTask.ConfigClass(), args=args)


def usage_error(capsys, args):
    """The message of the usage error ``args`` give: exit status 2, one ``PROG: error: ...`` line."""
    with pytest.raises(SystemExit) as exit_info:
        parse(args)
    assert exit_info.value.code == 2
    prog, found, message = capsys.readouterr().err.strip().splitlines()[-1].partition(": error: ")
    assert found and prog, "not an argparse usage error line"
    return message
