"""``import mmsplitmix`` registers, and changes nothing else."""
import json
import subprocess
import sys

import pytest

# Runs in a fresh interpreter: imports the modules that `import mmsplitmix`
# imports, records every attribute of every mmengine, mmpretrain, mmcv and
# torch.serialization module, imports mmsplitmix, and reports what differs.
SNAPSHOT = r'''
import copy, importlib, json, sys
import mmengine.registry, torch.serialization
from mmengine.fileio.backends import registry_utils

for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
watched = [name for name in sys.modules
           if name.split('.')[0] in ('mmengine', 'mmpretrain', 'mmcv')
           or name == 'torch.serialization']

# mmengine's registries, and its tables of file backends
# (mmengine.fileio.register_backend)
def registry_like(value):
    return isinstance(value, mmengine.registry.Registry) or value is \
        registry_utils.backends or value is registry_utils.prefix_to_backends

def state(value):
    if isinstance(value, (dict, list, set)):
        try:
            return copy.copy(value)
        except Exception:
            return None
    return None

before = {}
for name in watched:
    module = sys.modules[name]
    for key, value in list(vars(module).items()):
        before[name, key] = (value, state(value))
import mmsplitmix  # noqa
changed = []
for (name, key), (value, copied) in before.items():
    now = vars(sys.modules[name]).get(key, '<deleted>')
    if registry_like(value):
        continue
    if now is not value or (copied is not None and copied != now):
        changed.append(f'{name}.{key}')
print(json.dumps(dict(changed=changed)))
'''


def loaded_by_import():
    out = subprocess.run([
        sys.executable, '-c', 'import json, sys; before = set(sys.modules); '
        'import mmsplitmix; print(json.dumps(sorted(set(sys.modules) - '
        'before - {n for n in sys.modules if n.startswith("mmsplitmix")})))'
    ],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.slow
def test_import_leaves_mmengine_mmpretrain_and_torch_as_they_were():
    modules = [
        name for name in loaded_by_import()
        if name.split('.')[0] in ('mmengine', 'mmpretrain', 'mmcv', 'torch')
    ]
    proc = subprocess.run(
        [sys.executable, '-c', SNAPSHOT,
         json.dumps(modules)],
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1])['changed'] == []
