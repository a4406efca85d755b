"""`PairConfig`: every knob of a simulated science/template pair, checked.

Fields hold plain numbers, strings, booleans and tuples, so that a config can
be written as ``NAME=VALUE`` literals on a command line (`diffim.cli.sim`).
Fluxes are instrumental counts (ADU summed over the source); positions and
lengths are pixels unless a name says otherwise.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from ..errors import SimulationError

__all__ = ["PairConfig", "PSF_MODELS"]

PSF_MODELS = ("moffat", "gaussian")

MEGAPIXEL = 1.0e6


@dataclass(frozen=True)
class PairConfig:
    """Parameters of `diffim.sim.simulate_pair`, with their defaults.

    The science image is the later, worse-seeing epoch; the template is the
    earlier, sharper and deeper one (a stand-in for a coadd). Unless stated,
    a flux is in counts (ADU) of the image it belongs to.

    Attributes
    ----------
    size : `int`
        Side of both (square) images in pixels. Default 512.
    seed : `int`
        Seed of every random draw: the same seed gives bit-identical images
        and truth. Default 0.
    ra, dec : `float`
        Sky position (degrees) of the science image centre. Default (150, 2).
    pixel_scale : `float`
        Arcseconds per pixel. Default 0.2.
    rotation : `float`
        Science sky rotation, degrees from north-up / east-left. Default 0.
    distortion : `float`
        Radial SIP distortion of the detector: displacement in pixels at the
        image corners (0 = pure TAN). Default 0.
    star_density : `float`
        Stars per million pixels when ``n_stars`` is None. Default 100
        (rendering time grows with it: ~2200 sources at 4k x 4k).
    n_stars : `int` or None
        Number of static point sources (overrides ``star_density``).
        Default None.
    star_flux_min, star_flux_max : `float`
        Range of static-source fluxes, in TEMPLATE counts. Default 300, 1e7
        (a few saturated stars per 4k x 4k image at the default saturation).
    star_flux_slope : `float`
        Power-law index: ``dN/dF ~ F**-star_flux_slope``. Default 1.5.
    galaxy_fraction : `float`
        Extra galaxies as a fraction of the star count (same flux law).
        Default 0.3.
    galaxy_half_light_radius : `float`
        Median half-light radius (arcsec) of the exponential discs; the
        radii are log-normal with 0.3 dex scatter. Default 0.4.
    n_transients : `int`
        Point sources present in the science image only, placed inside it
        (variables too). Default 20.
    transient_flux_min, transient_flux_max : `float`
        Transient flux range (SCIENCE counts), log-uniform. Default 1500, 30000.
    transient_host_fraction : `float`
        Fraction of transients placed within a galaxy's half-light ellipse.
        Default 0.3.
    n_variables : `int`
        Point sources whose science flux differs from ``flux_ratio`` times
        their template flux; their science flux before variation spans the
        transient flux range. Default 10.
    variable_delta_mag : `tuple` [`float`, `float`]
        Range of the absolute magnitude change of variables (sign random).
        Default (0.2, 1.0).
    flux_ratio : `float`
        Science counts / template counts of a non-varying source: the
        photometric scaling (kernel sum) a subtraction must recover.
        Default 0.9.
    template_zero_point : `float`
        AB magnitude of one template count. The science zero point is
        ``template_zero_point + 2.5 log10(flux_ratio)``. Default 28.0.
    psf_model : `str`
        ``"moffat"`` or ``"gaussian"``, for both images. Default "moffat".
    moffat_beta : `float`
        Moffat index. Default 4.765, the Moffat closest to a Kolmogorov
        (atmospheric-seeing) profile (Trujillo et al. 2001). Fatter wings
        (smaller beta) bias the AL kernel sum low, because a Gaussian-based
        basis cannot carry the wings of a Moffat-to-Moffat matching kernel.
    science_fwhm, template_fwhm : `float`
        PSF FWHM at the image centre, pixels. Default 5.0 and 3.5.
    science_fwhm_variation, template_fwhm_variation : `float`
        FWHM at the (+x, +y) corner is ``fwhm * (1 + variation)``, at the
        opposite corner ``fwhm * (1 - variation)`` (linear in u + v, the
        detector coordinates normalised to [-1, 1]). Default 0.1 and 0.05.
    science_ellipticity, template_ellipticity : `float`
        PSF ellipticity (1 - axis ratio) at the -x edge (u = -1).
        Default 0.05, 0.02.
    science_ellipticity_variation, template_ellipticity_variation : `float`
        Ellipticity increase from the -x to the +x edge (linear in u).
        Default 0.05, 0.02.
    science_psf_theta, template_psf_theta : `float`
        PSF major-axis angle, degrees counter-clockwise from +x. Default 30, -20.
    science_sky, template_sky : `float`
        Mean sky level (ADU per pixel), subtracted from the image but kept in
        the variance. Default 800, 300.
    science_sky_gradient, template_sky_gradient : `tuple` [`float`, `float`]
        Fractional sky change from the centre to the +x and +y edges.
        Default (0.05, -0.03) and (0.02, 0.02).
    gain : `float`
        Electrons per ADU. Default 1.5.
    read_noise : `float`
        Read noise in electrons. Default 5.0.
    saturation : `float`
        Level (ADU, sky included) above which a pixel saturates and bleeds
        along its column. Default 60000.
    n_cosmic_rays : `int` or None
        Cosmic rays in the science image; None means 30 per million pixels.
        Default None.
    template_cosmic_rays : `bool`
        Give the template its own cosmic rays too (as a calexp template has;
        a coadd has none). Default False.
    n_bad_columns : `int`
        Bad detector columns, the same detector columns in both images.
        Default 2.
    repair_defects : `bool`
        Interpolate over cosmic-ray and bad-column pixels, as a calexp's ISR
        and CR repair do (masks are set either way). Default True.
    template_offset : `tuple` [`float`, `float`]
        Template pixel position of the sky point at the science image centre,
        minus that centre: a template on a shifted pointing. Default (0, 0).
    template_rotation : `float`
        Template pointing rotation relative to the science one, degrees.
        Default 0 (with a zero offset: the template on the science grid).
    exposure_time : `float`
        Seconds, both images. Default 30.
    science_mjd, template_mjd : `float`
        Observation dates. Default 60400.25, 60000.25.
    science_airmass, template_airmass : `float`
        Default 1.2, 1.05.
    band, physical_filter : `str`
        Default "r", "r_sim".
    isolation_radius : `float` or None
        A truth source is isolated when no other source lies within this many
        science pixels; None means 4 science FWHM. Default None.
    threads : `int`
        Worker threads for rendering and noise; never changes the output.
        Default 2.
    """

    size: int = 512
    seed: int = 0
    ra: float = 150.0
    dec: float = 2.0
    pixel_scale: float = 0.2
    rotation: float = 0.0
    distortion: float = 0.0
    star_density: float = 100.0
    n_stars: int | None = None
    star_flux_min: float = 300.0
    star_flux_max: float = 1.0e7
    star_flux_slope: float = 1.5
    galaxy_fraction: float = 0.3
    galaxy_half_light_radius: float = 0.4
    n_transients: int = 20
    transient_flux_min: float = 1500.0
    transient_flux_max: float = 30000.0
    transient_host_fraction: float = 0.3
    n_variables: int = 10
    variable_delta_mag: tuple = (0.2, 1.0)
    flux_ratio: float = 0.9
    template_zero_point: float = 28.0
    psf_model: str = "moffat"
    moffat_beta: float = 4.765
    science_fwhm: float = 5.0
    template_fwhm: float = 3.5
    science_fwhm_variation: float = 0.1
    template_fwhm_variation: float = 0.05
    science_ellipticity: float = 0.05
    template_ellipticity: float = 0.02
    science_ellipticity_variation: float = 0.05
    template_ellipticity_variation: float = 0.02
    science_psf_theta: float = 30.0
    template_psf_theta: float = -20.0
    science_sky: float = 800.0
    template_sky: float = 300.0
    science_sky_gradient: tuple = (0.05, -0.03)
    template_sky_gradient: tuple = (0.02, 0.02)
    gain: float = 1.5
    read_noise: float = 5.0
    saturation: float = 60000.0
    n_cosmic_rays: int | None = None
    template_cosmic_rays: bool = False
    n_bad_columns: int = 2
    repair_defects: bool = True
    template_offset: tuple = (0.0, 0.0)
    template_rotation: float = 0.0
    exposure_time: float = 30.0
    science_mjd: float = 60400.25
    template_mjd: float = 60000.25
    science_airmass: float = 1.2
    template_airmass: float = 1.05
    band: str = "r"
    physical_filter: str = "r_sim"
    isolation_radius: float | None = None
    threads: int = 2

    def __post_init__(self):
        _check(self)

    @property
    def megapixels(self):
        """Image area in millions of pixels."""
        return self.size * self.size / MEGAPIXEL

    @property
    def star_count(self):
        """Number of static point sources to draw."""
        if self.n_stars is not None:
            return self.n_stars
        return int(round(self.star_density * self.megapixels))

    @property
    def galaxy_count(self):
        """Number of galaxies to draw."""
        return int(round(self.galaxy_fraction * self.star_count))

    @property
    def cosmic_ray_count(self):
        """Number of cosmic rays per image that gets them."""
        if self.n_cosmic_rays is not None:
            return self.n_cosmic_rays
        return int(round(30.0 * self.megapixels))

    @property
    def science_zero_point(self):
        """AB magnitude of one science count."""
        return self.template_zero_point + 2.5 * math.log10(self.flux_ratio)

    @property
    def isolation(self):
        """Isolation radius in science pixels."""
        return 4.0 * self.science_fwhm if self.isolation_radius is None else self.isolation_radius

    def replace(self, **changes):
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


def _fail(name, requirement, value):
    raise SimulationError(f"PairConfig.{name} must be {requirement}, got {value!r}")


def _number(config, name, *, low=None, high=None, low_open=False, integer=False,
            optional=False):
    value = getattr(config, name)
    if value is None and optional:
        return
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(name, "an integer" if integer else "a number", value)
    if not math.isfinite(value):
        _fail(name, "finite", value)
    if low is not None and (value <= low if low_open else value < low):
        _fail(name, f"{'>' if low_open else '>='} {low}", value)
    if high is not None and value > high:
        _fail(name, f"<= {high}", value)


def _pair(config, name, *, low=None, high=None):
    value = getattr(config, name)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        _fail(name, "a pair of numbers", value)
    for item in value:
        if (isinstance(item, bool) or not isinstance(item, numbers.Real)
                or not math.isfinite(item)):
            _fail(name, "a pair of finite numbers", value)
        if (low is not None and item < low) or (high is not None and item > high):
            _fail(name, f"a pair of numbers in [{low}, {high}]", value)
    object.__setattr__(config, name, (float(value[0]), float(value[1])))


def _check(config):
    _number(config, "size", low=16, high=32768, integer=True)
    _number(config, "seed", low=0, integer=True)
    _number(config, "ra", low=0.0, high=360.0)
    _number(config, "dec", low=-89.0, high=89.0)
    _number(config, "pixel_scale", low=0.0, low_open=True)
    _number(config, "rotation")
    _number(config, "distortion", low=0.0, high=0.05 * config.size)
    _number(config, "star_density", low=0.0)
    _number(config, "n_stars", low=0, integer=True, optional=True)
    _number(config, "star_flux_min", low=0.0, low_open=True)
    _number(config, "star_flux_max", low=config.star_flux_min)
    _number(config, "star_flux_slope", low=0.0, low_open=True)
    _number(config, "galaxy_fraction", low=0.0, high=10.0)
    _number(config, "galaxy_half_light_radius", low=0.0, low_open=True, high=5.0)
    _number(config, "n_transients", low=0, integer=True)
    _number(config, "transient_flux_min", low=0.0, low_open=True)
    _number(config, "transient_flux_max", low=config.transient_flux_min)
    _number(config, "transient_host_fraction", low=0.0, high=1.0)
    _number(config, "n_variables", low=0, integer=True)
    _pair(config, "variable_delta_mag", low=0.0, high=5.0)
    if config.variable_delta_mag[0] > config.variable_delta_mag[1]:
        _fail("variable_delta_mag", "an increasing (low, high) pair", config.variable_delta_mag)
    _number(config, "flux_ratio", low=0.0, low_open=True)
    _number(config, "template_zero_point")
    if config.psf_model not in PSF_MODELS:
        _fail("psf_model", f"one of {PSF_MODELS}", config.psf_model)
    _number(config, "moffat_beta", low=1.0, low_open=True)
    for prefix in ("science", "template"):
        _number(config, f"{prefix}_fwhm", low=1.0, high=30.0)
        _number(config, f"{prefix}_fwhm_variation", low=0.0, high=0.5)
        _number(config, f"{prefix}_ellipticity", low=0.0, high=0.5)
        _number(config, f"{prefix}_ellipticity_variation", low=0.0, high=0.3)
        _number(config, f"{prefix}_psf_theta")
        _number(config, f"{prefix}_sky", low=0.0)
        _pair(config, f"{prefix}_sky_gradient", low=-0.5, high=0.5)
        _number(config, f"{prefix}_mjd")
        _number(config, f"{prefix}_airmass", low=1.0)
    _number(config, "gain", low=0.0, low_open=True)
    _number(config, "read_noise", low=0.0)
    _number(config, "saturation", low=0.0, low_open=True)
    _number(config, "n_cosmic_rays", low=0, integer=True, optional=True)
    _number(config, "n_bad_columns", low=0, integer=True, high=config.size // 4)
    _pair(config, "template_offset", low=-config.size, high=config.size)
    _number(config, "template_rotation", low=-180.0, high=180.0)
    _number(config, "exposure_time", low=0.0, low_open=True)
    _number(config, "isolation_radius", low=0.0, low_open=True, optional=True)
    _number(config, "threads", low=1, integer=True, high=64)
    for name in ("template_cosmic_rays", "repair_defects"):
        if not isinstance(getattr(config, name), bool):
            _fail(name, "True or False", getattr(config, name))
    for name in ("band", "physical_filter"):
        if not isinstance(getattr(config, name), str) or not getattr(config, name):
            _fail(name, "a non-empty string", getattr(config, name))
    for prefix in ("science", "template"):
        level = getattr(config, f"{prefix}_sky")
        gradient = getattr(config, f"{prefix}_sky_gradient")
        if level > 0 and abs(gradient[0]) + abs(gradient[1]) >= 1.0:
            _fail(f"{prefix}_sky_gradient", "small enough to keep the sky positive", gradient)
