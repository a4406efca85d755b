"""The modes of `AlardLuptonSubtractConfig` (which image is convolved), importable without the task."""

MODES = {
    "auto": "Choose which image to convolve at run time.",
    "convolveScience": "Convolve the science image.",
    "convolveTemplate": "Convolve the template image.",
    "preconvolve": "Convolve the science image with its PSF, then match the "
                   "template to it: the difference is a score image.",
}
"""Mode name -> what it does (the config field's ``allowed``)."""
