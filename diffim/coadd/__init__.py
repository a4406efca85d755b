"""Coadds: calexps warped onto skymap patches and combined, with their PSF and inputs.

`MakeCoaddTask` combines many calexps (``coaddName`` chooses the flavour:
``deep``, ``goodSeeing``, or any registered with `register_coadd_selector`);
`MakeCalexpCoaddTask` turns one calexp into a one-input coadd.
"""
from .coadd_psf import coadd_psf
from .combine import combine_clipped_mean, combine_mean
from .errors import CoaddError, CoaddInputError, NoCoaddInputsError
from .select import COADD_SELECTORS, register_coadd_selector
from .tasks import (INPUT_COLUMNS, MakeCalexpCoaddConfig, MakeCalexpCoaddTask, MakeCoaddConfig,
                    MakeCoaddTask)

__all__ = [
    "COADD_SELECTORS",
    "CoaddError",
    "CoaddInputError",
    "INPUT_COLUMNS",
    "MakeCalexpCoaddConfig",
    "MakeCalexpCoaddTask",
    "MakeCoaddConfig",
    "MakeCoaddTask",
    "NoCoaddInputsError",
    "coadd_psf",
    "combine_clipped_mean",
    "combine_mean",
    "register_coadd_selector",
]
