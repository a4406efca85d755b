"""Fresh configs as copies of one per class: the defaults of a new config, independent of each other."""
import pytest
from lsst.pex.config import Config, Field, FieldValidationError, ListField

from diffim.config.fresh import default_config, defaults_copied, fresh_config
from diffim.image_difference import ImageDifferenceConfig, Winter2013ImageDifferenceConfig
from diffim.template import GetCalexpAsTemplateTask


def test_fresh_config_saves_as_a_new_one():
    for config_class in (ImageDifferenceConfig, Winter2013ImageDifferenceConfig):
        fresh = fresh_config(config_class)
        assert type(fresh) is config_class
        assert fresh.saveToString() == config_class().saveToString()


def test_fresh_configs_are_independent_and_not_frozen():
    changed = fresh_config(ImageDifferenceConfig)
    changed.doDecorrelation = not changed.doDecorrelation
    changed.getTemplate.retarget(GetCalexpAsTemplateTask)
    changed.subtract.name = "zogy"
    changed.subtract["al"].scaleVariance.maskPlanes.append("CR")
    changed.validate()
    again = fresh_config(ImageDifferenceConfig)
    default = ImageDifferenceConfig()
    assert again.saveToString() == default.saveToString() != changed.saveToString()
    assert again.getTemplate.target is default.getTemplate.target
    assert list(again.subtract["al"].scaleVariance.maskPlanes) == \
        list(default.subtract["al"].scaleVariance.maskPlanes)


def test_the_shared_default_is_frozen_and_its_copies_are_not():
    default = default_config(ImageDifferenceConfig)
    with pytest.raises(FieldValidationError, match="frozen"):
        default.doDecorrelation = not default.doDecorrelation
    with pytest.raises(FieldValidationError, match="frozen"):
        default.subtract["zogy"].minGoodPixelFraction /= 2
    copy = fresh_config(ImageDifferenceConfig)
    copy.subtract["zogy"].minGoodPixelFraction /= 2
    copy.freeze()
    assert copy.saveToString() != default.saveToString()
    assert default.saveToString() == ImageDifferenceConfig().saveToString()


class _Counted(Config):
    """A config whose field-by-field makes are counted."""

    made = []
    values = ListField(dtype=int, default=[1, 2], doc="a list")
    scale = Field(dtype=float, default=1.0, doc="a number")

    def setDefaults(self):
        super().setDefaults()
        type(self).made.append(1)
        self.scale = 2.5


@defaults_copied
class _Copied(_Counted):
    """`_Counted`, made as copies of its default."""


class _CopiedSubclass(_Copied):
    """Inherits the copies."""

    extra = Field(dtype=int, default=3, doc="a subclass's field")


@pytest.mark.parametrize("config_class", [_Copied, _CopiedSubclass])
def test_a_defaults_copied_class_is_made_field_by_field_once(config_class):
    config_class.made = []
    first, second = config_class(), config_class()
    assert len(config_class.made) <= 1  # the shared default, unless an earlier test made it
    assert type(first) is config_class and not first._frozen
    assert first.scale == 2.5 and list(first.values) == [1, 2]
    first.values.append(3)
    first.scale = 4.0
    assert list(second.values) == [1, 2] and second.scale == 2.5
    # With arguments the class makes its config field by field, as pex_config does.
    made = len(config_class.made)
    given = config_class(scale=7.0)
    assert len(config_class.made) == made + 1 and given.scale == 7.0
    assert config_class(scale=2.5).saveToString() == second.saveToString()


def test_gen3_task_configs_are_copies_saved_as_made_field_by_field():
    from compat.gen3 import tasks

    for config_class in (tasks.ImageDifferenceConfig, tasks.Winter2013ImageDifferenceConfig,
                         tasks.AlardLuptonSubtractConfig, tasks.DetectAndMeasureConfig,
                         tasks.GetTemplateConfig, tasks.GetCalexpTemplateConfig,
                         tasks.MakeCalexpCoaddConfig):
        copied = config_class()
        # A keyword argument (the default value) makes the config field by field.
        name = next(iter(config_class._fields))
        made = config_class(**{name: getattr(copied, name)})
        assert type(copied) is config_class
        assert copied.saveToString() == made.saveToString(), config_class.__name__
        copied.freeze()
        made.freeze()
        assert copied.saveToString() == made.saveToString(), config_class.__name__
