"""model-index.yml and the configs agree; counts are the paper's."""
import pytest
import yaml
from modelindex.load_model_index import load

from mmsplitmix.analysis import get_complexity
from tests.paper_tables import EXPERIMENTS, MLP_MIXER, paper_top1
from tests.test_configs.configs_testing import (FAMILIES, PAPER_CONFIGS, REPO,
                                                build_model,
                                                config_input_shape,
                                                depth_rule_flops, head_flops,
                                                load_config)

PAPER = 'https://arxiv.org/abs/2207.10255'


@pytest.fixture(scope='module')
def index_models():
    model_index = load(str(REPO / 'model-index.yml'))
    model_index.build_models_with_collections()
    return {model.name: model for model in model_index.models}


def test_model_index_imports_every_family():
    data = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert sorted(data['Import']) == sorted(f'configs/{family}/metafile.yml'
                                            for family in FAMILIES)


def test_index_and_configs_agree(index_models):
    raw_names = []
    for family in FAMILIES:
        meta = yaml.safe_load(
            (REPO / 'configs' / family / 'metafile.yml').read_text())
        raw_names += [model['Name'] for model in meta['Models']]
        for collection in meta['Collections']:
            assert (REPO / collection['README']).is_file()
    assert len(raw_names) == len(set(raw_names)), 'names must be unique'
    assert set(index_models) == {path.stem
                                 for path in PAPER_CONFIGS} == EXPERIMENTS
    for name, model in index_models.items():
        assert model.config == f'configs/{model.config.split("/")[1]}/' \
                               f'{name}.py'
        assert (REPO / model.config).is_file()
        assert model.weights is None, 'no weights until trained ones exist'


def test_no_clash_with_mmpretrain_names(index_models):
    from importlib_metadata import distribution
    root = distribution('mmpretrain').locate_file('mmpretrain')
    theirs = load(str(root / '.mim' / 'model-index.yml'))
    theirs.build_models_with_collections()
    their_names = {model.name.lower() for model in theirs.models}
    assert not their_names & set(index_models)


def test_metafile_counts_are_recounted_from_the_configs(
        index_models, recounted):
    for name, model in index_models.items():
        metadata = model.metadata
        assert isinstance(metadata.flops, int)
        assert isinstance(metadata.parameters, int)
        assert (metadata.flops,
                metadata.parameters) == (recounted[name]['flops'],
                                         recounted[name]['params']), name


def test_the_shortcuts_of_the_recount_give_full_counts(recounted):
    """The ``recounted`` fixture counts a CIFAR-100 network with its
    CIFAR-10 twin, and the ImageNet networks one and two blocks deep: both
    shortcuts give the full counts (the depth rule is checked on a
    setting-I network the fixture counts in full)."""
    name = 'splitmixer-i-256-8_1xb512_{}'
    cfgs = [
        load_config(REPO / 'configs' / 'splitmixer' /
                    f'{name.format(dataset)}.py')
        for dataset in ('cifar10', 'cifar100')
    ]
    full = get_complexity(build_model(cfgs[1]), config_input_shape(cfgs[1]))
    assert recounted[name.format('cifar100')]['flops'] == full['flops']
    assert head_flops(cfgs[1]) - head_flops(cfgs[0]) == 256 * 90
    assert depth_rule_flops(cfgs[0]) == \
        recounted[name.format('cifar10')]['flops']


def test_mlp_mixer_count_is_the_papers(recounted):
    """The abstract's 17.1 M parameters (the table rows are checked by
    tests/test_tools/test_get_flops.py, through the tool that prints them)."""
    name, params_m, _ = MLP_MIXER
    assert round(recounted[name]['params'] / 1e6, 1) == params_m


def test_results_are_the_papers_and_marked_so(index_models):
    papers = paper_top1()
    for name, model in index_models.items():
        (result, ) = model.results
        assert result.task == 'Image Classification'
        top1 = result.metrics.get('Top 1 Accuracy')
        assert top1 == papers.get(name), name
        source = model.data.get('Results Source')
        if top1 is None:
            assert result.metrics == {} and source is None
        else:
            assert 'Reported in the SplitMixer paper' in source
            assert '2207.10255' in source


def test_collections_cite_their_papers():
    papers = {
        'convmixer': 'https://arxiv.org/abs/2201.09792',
        'mlp_mixer': 'https://arxiv.org/abs/2105.01601',
        'splitmixer': PAPER,
    }
    for family, url in papers.items():
        meta = yaml.safe_load(
            (REPO / 'configs' / family / 'metafile.yml').read_text())
        (collection, ) = meta['Collections']
        assert collection['Paper']['URL'] == url
        assert all(model['In Collection'] == collection['Name']
                   for model in meta['Models'])
