"""mmext's registration helper, and every registered component built by name in every scope it is in."""
import importlib
import sys

import pytest
from mmengine.registry import init_default_scope

import mmext
from mmext import registry as mmext_registry
from tests.registry_examples import EXAMPLES


def test_all_three_downstream_packages_are_available():
    assert set(mmext.available_scopes()) == {'mmdet', 'mmseg', 'mmpretrain'}


def test_every_registered_component_has_an_example():
    names = {name for _, name, _ in mmext.registered_components()}
    assert names, 'import mmext registered nothing'
    assert names <= set(EXAMPLES), f'add configs to tests/registry_examples.py for {sorted(names - set(EXAMPLES))}'


@pytest.mark.parametrize('kind,name,scope', mmext.registered_components(), ids=lambda x: str(x))
def test_build_by_name_in_scope(kind, name, scope, tiny_shapes):
    init_default_scope(scope)
    registry = mmext_registry.get_registry(scope, kind)
    cfg = EXAMPLES[name](tiny_shapes)
    assert cfg['type'] == name
    obj = registry.build(cfg)  # by the plain name, as a config in that scope does
    assert type(obj).__name__ == name
    assert registry.get(name) is type(obj)


def test_task_specific_components_stay_in_their_scope():
    from mmseg.registry import DATASETS as SEG_DATASETS
    assert SEG_DATASETS.get('ShapesSegDataset') is not None
    init_default_scope('mmseg')
    assert SEG_DATASETS.get('ShapesDetDataset') is None


def test_register_into_all_scopes_and_unknown_scope(monkeypatch):
    monkeypatch.setattr(mmext_registry, '_REGISTERED', [])
    from mmengine.model import BaseModule

    @mmext.register('MODELS', name='MMExtRegistryProbe')
    class Probe(BaseModule):
        pass

    try:
        for scope in ('mmdet', 'mmseg', 'mmpretrain'):
            init_default_scope(scope)
            reg = mmext_registry.get_registry(scope, 'MODELS')
            assert isinstance(reg.build(dict(type='MMExtRegistryProbe')), Probe)
        assert {s for _, _, s in mmext.registered_components('MODELS')} == {'mmdet', 'mmseg', 'mmpretrain'}
        with pytest.raises(KeyError, match='already registered'):
            mmext.register('MODELS', scopes=['mmdet'], name='MMExtRegistryProbe')(Probe)
    finally:
        for scope in ('mmdet', 'mmseg', 'mmpretrain'):
            mmext_registry.get_registry(scope, 'MODELS')._module_dict.pop('MMExtRegistryProbe', None)
    with pytest.raises(ValueError, match="unknown scope 'mmdet3d'"):
        mmext.register('MODELS', scopes=['mmdet3d'])
    with pytest.raises(KeyError, match='no registry named'):
        mmext_registry.get_registry('mmdet', 'NOT_A_REGISTRY')


def test_missing_package_is_skipped_and_broken_package_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(mmext_registry, 'DOWNSTREAM_SCOPES',
                        dict(mmext_registry.DOWNSTREAM_SCOPES, mmabsent='mmabsent.registry',
                             mmbroken='mmbroken.registry'))
    monkeypatch.setattr(mmext_registry, '_AVAILABLE', None)
    pkg = tmp_path / 'mmbroken'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('raise RuntimeError("mmcv._ext is missing")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert mmext_registry._import_registry_module('mmabsent') is None
    with pytest.raises(ImportError, match="'mmbroken' failed to import .*mmcv._ext is missing"):
        mmext_registry.available_scopes()
    sys.modules.pop('mmbroken', None)
