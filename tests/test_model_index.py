"""The OpenMMLab model index: model-index.yml imports every configs/*/metafile.yml, and every config of the
repository (not the _base_ pieces) is listed in exactly one metafile, with a unique name and a known collection."""
import glob
import os.path as osp

import yaml

from tests.conftest import REPO


def _load(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def _metafiles():
    return sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yml')))


def test_model_index_imports_every_metafile():
    imported = _load('model-index.yml')['Import']
    assert sorted(imported) == _metafiles()
    assert len(set(imported)) == len(imported)


def test_every_config_listed_once_with_unique_names():
    configs = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                     if not osp.relpath(p, REPO).startswith(osp.join('configs', '_base_'))
                     and not osp.basename(p).startswith('_'))  # a folder's own base fragments, as mmdet's _base_
    listed, names = [], []
    for meta in _metafiles():
        data = _load(meta)
        collections = {c['Name'] for c in data['Collections']}
        for model in data['Models']:
            assert model['In Collection'] in collections, (meta, model['Name'])
            assert osp.isfile(osp.join(REPO, model['Config'])), (meta, model['Config'])
            assert osp.dirname(model['Config']) == osp.dirname(meta), f'{meta} lists a config of another folder'
            listed.append(model['Config'])
            names.append(model['Name'])
    missing = sorted(set(configs) - set(listed))
    assert not missing, f'configs not listed in their folder\'s metafile.yml: {missing}'
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    assert len(names) == len(set(names)), 'model names must be unique across metafiles'
