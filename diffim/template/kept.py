"""Coadd templates built once per process, for a process that builds the same ones many times.

A validation campaign runs dozens of pipelines of both middlewares in one
process, and every coadd-template scenario warped and merged the same
patches onto the same science detectors again (the default campaign built
its 4 templates about 120 times, 18 % of its CPU time). Within
`templates_kept`, `kept_template` keeps what
`GetCoaddAsTemplateTask` builds under a digest of everything the build reads
(`template_key`): the task's class and whole config, the skymap, the science
box and WCS, and every patch it reads (its key, box, planes' bytes, mask
planes, PSF, calibration, visit info and metadata). A later build from the
same content is a copy of the kept template (the same bytes as a new build);
any changed input is another key. Off by default: a command that builds one
template would only hold the memory.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import pickle
import threading

from ..io.header import wcs_cards
from ..io.wcs_cards import CardWcs

__all__ = ["keep_templates", "kept_template", "template_key", "templates_kept"]

_KEPT = collections.OrderedDict()
"""Content digest -> built template, least recently used first."""
_budget = {"bytes": 0, "used": 0}
_LOCK = threading.Lock()
"""Guards the two above: a campaign's gen2 and gen3 lanes run in threads of one process."""
_LOOKUP_TABLES = ("cpdis1", "cpdis2", "det2im1", "det2im2")
"""Distortions of an `astropy.wcs.WCS` that its header cards do not hold."""


@contextlib.contextmanager
def templates_kept(max_bytes):
    """Keep built templates in this process for the length of a ``with`` block.

    Their planes are kept up to ``max_bytes``, the least recently used dropped
    first; the budget is back as it was after the block (``0``, none, by default).
    """
    previous = keep_templates(max_bytes)
    try:
        yield
    finally:
        keep_templates(previous)


def keep_templates(max_bytes):
    """Keep built templates in this process from now on, their planes up to ``max_bytes``
    (0: none); returns the budget before."""
    with _LOCK:
        previous, _budget["bytes"] = _budget["bytes"], int(max_bytes)
        _evict()
    return previous


def template_key(builder, config, coadds, skymap, bbox, wcs):
    """Digest of what `GetCoaddAsTemplateTask` builds a template from, or None when nothing
    is kept.

    None too when the WCS is not fully described by its header cards (an
    astropy WCS with lookup-table distortions) or a patch's PSF does not
    pickle: such a template is built every time.

    Parameters
    ----------
    builder : `type`
        The task's class: a subclass of `GetCoaddAsTemplateTask` may build
        otherwise from the same config.
    config : `diffim.template.GetCoaddAsTemplateConfig`
        Every field of the instance is part of the key, those of a subclass
        too (a retargeted task's config, or gen3's with its connections):
        the key cannot know which fields a build leaves unread, so gen2's and
        gen3's template tasks, whose configs differ by gen3's fields, keep a
        template each.
    coadds : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
        The patches the build reads: those given that overlap the box.
    skymap, bbox, wcs
        As `GetCoaddAsTemplateTask.run` takes them (its ``visit_info`` is set on
        the template after the build).

    Returns
    -------
    key : `bytes` or `None`
    """
    if not _budget["bytes"] or wcs is None:
        return None
    if not isinstance(wcs, CardWcs) and any(getattr(wcs, name, None) is not None
                                            for name in _LOOKUP_TABLES):
        return None
    digest = hashlib.sha256()  # SHA-NI: twice blake2b's speed here
    for text in (f"{builder.__module__}.{builder.__qualname__}", repr(config.toDict()),
                 skymap.to_json(), repr(bbox),
                 "\n".join(wcs_cards(wcs, (0, 0)))):
        digest.update(text.encode())
        digest.update(b"\0")
    for patch_key in sorted(coadds):
        exposure = coadds[patch_key]
        digest.update(repr((patch_key, exposure.bbox, exposure.image.dtype.str,
                            exposure.variance.dtype.str, exposure.mask.array.dtype.str)).encode())
        for plane in (exposure.image, exposure.variance, exposure.mask.array):
            digest.update(plane.tobytes() if not plane.flags.c_contiguous else plane)
        try:
            digest.update(pickle.dumps((exposure.mask.planes, exposure.psf,
                                        exposure.photo_calib, exposure.visit_info,
                                        exposure.metadata)))
        except (pickle.PicklingError, TypeError, AttributeError):  # a PSF of no known state
            return None
    return digest.digest()


def kept_template(key, build):
    """``build()``'s template, or a copy of the one kept under ``key``.

    Parameters
    ----------
    key : `bytes` or `None`
        `template_key` of the inputs; None builds without keeping.
    build : callable
        Returns a `diffim.task.Struct` whose ``exposure`` is the template, or
        None (not kept); the other fields are kept as they are and must not
        be mutated.

    Returns
    -------
    built : `diffim.task.Struct`
        A new struct whose ``exposure`` the caller may change.
    """
    if key is None:
        return build()
    with _LOCK:
        kept = _KEPT.get(key)
        if kept is not None:
            _KEPT.move_to_end(key)
    if kept is None:
        kept = build()
        if kept.exposure is None:
            return kept
        with _LOCK:
            size = _plane_bytes(kept.exposure)
            if key not in _KEPT and size <= _budget["bytes"]:
                _KEPT[key] = _copied(kept)
                _budget["used"] += size
                _evict()
        return kept
    return _copied(kept)


def _copied(built):
    fields = built.getDict()
    fields["exposure"] = built.exposure.copy()
    return type(built)(**fields)


def _plane_bytes(exposure):
    return exposure.image.nbytes + exposure.variance.nbytes + exposure.mask.array.nbytes


def _evict():
    while _KEPT and _budget["used"] > _budget["bytes"]:
        _, built = _KEPT.popitem(last=False)
        _budget["used"] -= _plane_bytes(built.exposure)
