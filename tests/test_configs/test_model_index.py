"""model-index.yml and the configs agree; counts are the paper's."""
import pytest
import yaml
from conftest import FAMILIES, PAPER_CONFIGS, REPO
from modelindex.load_model_index import load

PAPER = 'https://arxiv.org/abs/2207.10255'
# Top-1 accuracy (%) of the seed README's tables and, for the MLP-Mixer,
# the paper's abstract.
PAPER_TOP1 = {
    'convmixer-256-8_1xb512_cifar10': 94.17,
    'splitmixer-i-256-8_1xb512_cifar10': 93.91,
    'splitmixer-ii-256-8_1xb512_cifar10': 92.25,
    'splitmixer-iii-256-8_1xb512_cifar10': 92.52,
    'splitmixer-iv-256-8_1xb512_cifar10': 93.38,
    'convmixer-256-8_1xb512_cifar100': 73.92,
    'splitmixer-i-256-8_1xb512_cifar100': 72.88,
    'splitmixer-ii-256-8_1xb512_cifar100': 70.44,
    'splitmixer-iii-256-8_1xb512_cifar100': 70.89,
    'splitmixer-iv-256-8_1xb512_cifar100': 71.75,
    'convmixer-256-8_1xb128_flowers102': 60.47,
    'splitmixer-i-256-8_1xb128_flowers102': 62.03,
    'splitmixer-ii-256-8_1xb128_flowers102': 59.33,
    'splitmixer-iii-256-8_1xb128_flowers102': 59.00,
    'splitmixer-iv-256-8_1xb128_flowers102': 61.51,
    'convmixer-256-8_1xb128_food101': 74.59,
    'splitmixer-i-256-8_1xb128_food101': 73.56,
    'splitmixer-ii-256-8_1xb128_food101': 71.74,
    'splitmixer-iii-256-8_1xb128_food101': 72.78,
    'splitmixer-iv-256-8_1xb128_food101': 72.92,
    'mlp-mixer-512-8-p4_1xb512_cifar10': 85.45,
}
# (Params (M), FLOPs (M)) as printed in the seed README's tables.
PAPER_COUNTS = {
    'cifar10': [(0.60, 152.6), (0.28, 71.8), (0.17, 46.2), (0.17, 79.8),
                (0.31, 79.8)],
    'cifar100': [(0.62, 152.6), (0.30, 71.9), (0.19, 46.2), (0.19, 79.8),
                 (0.32, 79.8)],
    'flowers102': [(0.70, 696), (0.34, 331), (0.24, 229), (0.24, 363),
                   (0.37, 363)],
    'food101': [(0.70, 696), (0.34, 331), (0.24, 229), (0.24, 363),
                (0.37, 363)],
}
PREFIXES = ('convmixer-256-8', 'splitmixer-i-256-8', 'splitmixer-ii-256-8',
            'splitmixer-iii-256-8', 'splitmixer-iv-256-8',
            'splitmixer-v-256-8', 'splitmixer-3d-256-8',
            'splitmixer-i-768-32', 'splitmixer-i-1024-20',
            'splitmixer-i-1536-20', 'mlp-mixer-')
SUFFIXES = ('_cifar10', '_cifar100', '_flowers102', '_food101', '_in1k')


@pytest.fixture(scope='module')
def index_models():
    model_index = load(str(REPO / 'model-index.yml'))
    model_index.build_models_with_collections()
    return {model.name: model for model in model_index.models}


def test_model_index_imports_every_family():
    data = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert sorted(data['Import']) == sorted(
        f'configs/{family}/metafile.yml' for family in FAMILIES)


def test_index_and_configs_agree(index_models):
    raw_names = []
    for family in FAMILIES:
        meta = yaml.safe_load(
            (REPO / 'configs' / family / 'metafile.yml').read_text())
        raw_names += [model['Name'] for model in meta['Models']]
        for collection in meta['Collections']:
            assert (REPO / collection['README']).is_file()
    assert len(raw_names) == len(set(raw_names)), 'names must be unique'
    assert set(index_models) == {path.stem for path in PAPER_CONFIGS}
    for name, model in index_models.items():
        assert model.config == f'configs/{model.config.split("/")[1]}/' \
                               f'{name}.py'
        assert (REPO / model.config).is_file()
        assert name == name.lower()
        assert name.startswith(PREFIXES) and name.endswith(SUFFIXES), name
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
        assert (metadata.flops, metadata.parameters) == (
            recounted[name]['flops'], recounted[name]['params']), name


def test_counts_are_the_papers(recounted):
    models = ['convmixer-256-8'] + [
        f'splitmixer-{s}-256-8' for s in ('i', 'ii', 'iii', 'iv')
    ]
    for dataset, rows in PAPER_COUNTS.items():
        batch = 512 if dataset.startswith('cifar') else 128
        for model, (params_m, flops_m) in zip(models, rows):
            counted = recounted[f'{model}_1xb{batch}_{dataset}']
            # Within one unit of the printed last digit (the seed prints
            # CIFAR-100 ConvMixer's 152.66 M as 152.6).
            unit = 0.1 if dataset.startswith('cifar') else 1
            assert abs(counted['flops'] / 1e6 - flops_m) <= unit
            # The seed rounds parameters loosely (0.331 M printed 0.32).
            assert abs(counted['params'] / 1e6 - params_m) < 0.012
    mlp = recounted['mlp-mixer-512-8-p4_1xb512_cifar10']['params']
    assert round(mlp / 1e6, 1) == 17.1


def test_results_are_the_papers_and_marked_so(index_models):
    for name, model in index_models.items():
        (result, ) = model.results
        assert result.task == 'Image Classification'
        top1 = result.metrics.get('Top 1 Accuracy')
        assert top1 == PAPER_TOP1.get(name), name
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
