"""Fresh configs as copies of one per class: the defaults of a new config, independent of each other."""
import pytest
from lsst.pex.config import FieldValidationError

from diffim.config.fresh import default_config, fresh_config
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
