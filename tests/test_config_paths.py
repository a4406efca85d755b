"""The one dotted-path setter behind ``diffim -c``, gen2's ``-c`` and scenario configs."""
import pytest

from diffim.config.paths import (
    ConfigPathError,
    ConfigValueError,
    UnknownConfigFieldError,
    literal_or_text,
    set_path,
)
from diffim.subtract import AlardLuptonSubtractConfig


def test_sets_nested_fields_and_choice_names():
    config = AlardLuptonSubtractConfig()
    set_path(config, "doDecorrelation", False)
    set_path(config, "makeKernel.kernel.active.spatialKernelOrder", 1)
    set_path(config, " makeKernel.kernel.name ", "DF")
    assert config.doDecorrelation is False
    assert config.makeKernel.kernel["AL"].spatialKernelOrder == 1
    assert config.makeKernel.kernel.name == "DF"


@pytest.mark.parametrize("path", ["noSuchField", "makeKernel.nothing.kernelSize", "_fields",
                                  "makeKernel.kernel.active.", "validate", "makeKernel.retarget"])
def test_unknown_paths_never_create_attributes(path):
    config = AlardLuptonSubtractConfig()
    with pytest.raises(UnknownConfigFieldError, match=f"^unknown config field {path!r}$"):
        set_path(config, path, 1)


def test_refused_value_is_one_line_with_the_fields_reason():
    config = AlardLuptonSubtractConfig()
    with pytest.raises(ConfigValueError) as error:
        set_path(config, "mode", "sideways")
    assert isinstance(error.value, ConfigPathError)
    assert error.value.path == "mode" and error.value.value == "sideways"
    assert str(error.value).startswith("config field 'mode': ")
    assert "sideways" in error.value.reason and "\n" not in str(error.value)
    assert config.mode == AlardLuptonSubtractConfig().mode


@pytest.mark.parametrize("text, value", [
    ("False", False), (" 1 ", 1), ("2.5", 2.5), ("[1, 2]", [1, 2]), ("auto", "auto"),
    ("a b", "a b"), ("None", None)])
def test_literal_or_text(text, value):
    assert literal_or_text(text) == value
