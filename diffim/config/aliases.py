"""Legacy field paths that are other paths of the same config.

The stack moved fields over the years (the PSF-matching kernel was
``subtract.kernel``, then ``subtract['al'].kernel``; this package keeps it
under ``makeKernel.kernel``). `legacy_aliases` gives a config class
properties with the legacy names that *are* the objects at the real paths,
so a write through either name is seen through the other, and makes the
saved config (``saveToStream``, ``--show config``) print the legacy names,
which the real paths also load.
"""
from __future__ import annotations

from lsst.pex.config import ConfigurableInstance
from lsst.pex.config.configChoiceField import ConfigInstanceDict

__all__ = ["legacy_aliases"]


def legacy_aliases(**aliases):
    """Class decorator: ``legacy_name="real.dotted.path"`` for each alias.

    A choice field (``makeKernel.kernel``) keeps its own name as the alias:
    its ``.name`` line is written with its parent config's name, so that
    parent, which must hold nothing else, is saved under this config's name.
    """
    def decorate(cls):
        for legacy, path in aliases.items():
            setattr(cls, legacy, property(_getter(path), _setter(path),
                                          doc=f"Legacy name of ``{path}``."))
        base_rename, base_new = cls._rename, cls.__new__

        def legacy_names(self, name):
            for legacy, path in aliases.items():
                parent_path, _, leaf = path.rpartition(".")
                parent = _resolve(self, parent_path)
                value = getattr(parent, leaf)
                if isinstance(value, ConfigInstanceDict):
                    assert leaf == legacy, f"choice field {path} must keep its name"
                    parent._rename(name)
                else:
                    target = value.value if isinstance(value, ConfigurableInstance) else value
                    target._rename(f"{name}.{legacy}" if name else legacy)

        def _rename(self, name):
            base_rename(self, name)
            legacy_names(self, name)

        def __new__(subclass, *args, **kwargs):
            # Entries of a registry are made when first read (saving reads them all),
            # after any renaming: they take the legacy names as they are made.
            instance = base_new(subclass, *args, **kwargs)
            legacy_names(instance, instance._name)
            return instance

        cls._rename = _rename
        cls.__new__ = __new__
        return cls
    return decorate


def _resolve(config, path):
    for part in filter(None, path.split(".")):
        config = getattr(config, part)
    return config


def _getter(path):
    return lambda self: _resolve(self, path)


def _setter(path):
    parent_path, _, leaf = path.rpartition(".")

    def set_value(self, value):
        setattr(_resolve(self, parent_path), leaf, value)
    return set_value

