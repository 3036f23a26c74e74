"""SplitMixer exported to ONNX, the route to onnxruntime and mmdeploy,
computes what the PyTorch model computes."""
import numpy as np
import pytest
import torch

from mmsplitmix.models import MIXER_SETTINGS, SplitMixer
from tests.original_code import randomise_batch_norm

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')  # torch.onnx's exporter

# 15 channels: 3 equal segments (IV as one grouped convolution) or 4 with a
# wider last one; I and V mix int(15 * 2/3) = 10 channels, V's two passes
# overlapping
ARCH = dict(embed_dims=15, depth=3, patch_size=2, kernel_size=3)


def exported_outputs(model, image):
    program = torch.onnx.export(model, (image, ), dynamo=True, verbose=False)
    onnx.checker.check_model(program.model_proto)
    session = ort.InferenceSession(
        program.model_proto.SerializeToString(),
        providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: image.numpy()})


CASES = [(setting, 3) for setting in MIXER_SETTINGS] + [('II', 4), ('IV', 4)]


@pytest.mark.parametrize('setting,segments', CASES)
def test_exported_model_gives_pytorchs_outputs(setting, segments):
    torch.manual_seed(0)
    model = SplitMixer(
        arch=ARCH,
        mixer_setting=setting,
        num_segments=segments,
        out_indices=(0, 2))
    randomise_batch_norm(model)
    model.eval()
    image = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        expected = [out.numpy() for out in model(image)]
    outputs = exported_outputs(model, image)
    assert len(outputs) == len(expected)
    for out, ref in zip(outputs, expected):
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)
