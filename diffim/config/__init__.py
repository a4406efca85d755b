"""pex_config machinery shared by the tasks and by every caller that sets a config.

- `paths`: one setter for dotted config paths (``makeKernel.kernel.active.spatialKernelOrder``),
  used by ``diffim -c``, gen2's ``imageDifference.py -c`` and the harness's scenario configs,
  so that the three accept the same paths and name a bad one the same way.
"""
