"""Image-level measurements that need no PSF model.

Modules:

- `stats`: robust statistics (clipped means, MAD sigma, row medians);
- `background`: a smooth background from clipped cell medians;
- `peaks`: local maxima of a smoothed significance image.
"""
