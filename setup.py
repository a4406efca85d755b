"""Build the Cython extension modules of ``diffim._core`` with -O3 and OpenMP.

Everything declarative lives in ``setup.cfg``; this file only exists because
extension modules need code to describe them.
"""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

COMPILE_ARGS = ["-O3", "-fopenmp"]
LINK_ARGS = ["-fopenmp"]


def core_extensions():
    """One extension module per ``diffim/_core/_*.pyx`` file."""
    extensions = []
    for source in sorted(Path("diffim/_core").glob("_*.pyx")):
        module = ".".join(source.with_suffix("").parts)
        extensions.append(
            Extension(
                module,
                [str(source)],
                include_dirs=[numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=COMPILE_ARGS,
                extra_link_args=LINK_ARGS,
            )
        )
    return extensions


setup(
    ext_modules=cythonize(
        core_extensions(),
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
