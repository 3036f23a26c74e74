"""The original SplitMixer code's models, re-created for the tests: the
module names (``patch_emb``, ``mixer_blocks``, the mixers' attributes,
``head``) are what its checkpoints contain, and the mixers slice, convolve
and concatenate the way it does."""
import torch
import torch.nn as nn


class Residual(nn.Module):

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class PartialMixer(nn.Module):
    """Setting I: the first (even blocks) or last (odd blocks) part."""

    def __init__(self, dim, block, ratio=2 / 3):
        super().__init__()
        self.dim, self.part, self.odd = dim, int(dim * ratio), block % 2
        self.mixer = nn.Conv2d(self.part, self.part, 1)

    def forward(self, x):
        if self.odd:
            cut = self.dim - self.part
            return torch.cat([x[:, :cut], self.mixer(x[:, cut:])], 1)
        return torch.cat([self.mixer(x[:, :self.part]), x[:, self.part:]], 1)


class OneSegmentMixer(nn.Module):
    """Setting II: segment ``block % segments`` only."""

    def __init__(self, dim, block, segments=2):
        super().__init__()
        width = int(dim / segments)
        seg = block % segments
        self.lo = seg * width
        self.hi = dim if seg == segments - 1 else (seg + 1) * width
        self.mixer = nn.Conv2d(self.hi - self.lo, self.hi - self.lo, 1)

    def forward(self, x):
        return torch.cat([
            x[:, :self.lo],
            self.mixer(x[:, self.lo:self.hi]), x[:, self.hi:]
        ], 1)


class SharedMixer(nn.Module):
    """Setting III: one conv for every segment."""

    def __init__(self, dim, segments=2):
        super().__init__()
        self.width = dim // segments
        self.mixer = nn.Conv2d(self.width, self.width, 1)

    def forward(self, x):
        return torch.cat(
            [self.mixer(chunk) for chunk in torch.split(x, self.width, 1)], 1)


class EachSegmentMixer(nn.Module):
    """Setting IV: one conv per segment, the last takes the remainder."""

    def __init__(self, dim, segments=2):
        super().__init__()
        width = dim // segments
        self.widths = [width] * (segments - 1) + [dim - width * (segments - 1)]
        self.mixer = nn.ModuleList(nn.Conv2d(w, w, 1) for w in self.widths)

    def forward(self, x):
        chunks = torch.split(x, self.widths, 1)
        return torch.cat([m(c) for m, c in zip(self.mixer, chunks)], 1)


class TwoStepMixer(nn.Module):
    """Setting V: first part, then last part of the result."""

    def __init__(self, dim, ratio=2 / 3):
        super().__init__()
        self.dim, self.part = dim, int(dim * ratio)
        self.mixer1 = nn.Conv2d(self.part, self.part, 1)
        self.mixer2 = nn.Conv2d(self.part, self.part, 1)

    def forward(self, x):
        x = torch.cat([self.mixer1(x[:, :self.part]), x[:, self.part:]], 1)
        cut = self.dim - self.part
        return torch.cat([x[:, :cut], self.mixer2(x[:, cut:])], 1)


class StrideMixer(nn.Module):
    """3-D conv over the channel axis, kernel and stride dim/segments."""

    def __init__(self, dim, segments=2):
        super().__init__()
        width = dim // segments
        self.mixer = nn.Conv3d(1, width, (width, 1, 1), stride=(width, 1, 1))

    def forward(self, x):
        return self.mixer(x.unsqueeze(1)).flatten(1, 2)


def original_channel_mixer(setting, dim, block, ratio=2 / 3, segments=2):
    """The original's channel mixer of ``setting`` for block ``block`` (a
    full 1 x 1 conv for setting None, without the channel trick)."""
    if setting is None:
        return nn.Conv2d(dim, dim, 1)
    return {
        'I': lambda: PartialMixer(dim, block, ratio),
        'II': lambda: OneSegmentMixer(dim, block, segments),
        'III': lambda: SharedMixer(dim, segments),
        'IV': lambda: EachSegmentMixer(dim, segments),
        'V': lambda: TwoStepMixer(dim, ratio),
        '3D': lambda: StrideMixer(dim, segments),
    }[setting]()


class OriginalSplitMixer(nn.Module):

    def __init__(self,
                 dim,
                 depth,
                 kernel,
                 patch,
                 classes,
                 setting,
                 spatial_trick=True):
        super().__init__()
        self.patch_emb = nn.Sequential(
            nn.Conv2d(3, dim, patch, stride=patch), nn.GELU(),
            nn.BatchNorm2d(dim))
        blocks = []
        for i in range(depth):
            if spatial_trick:
                spatial = nn.Sequential(
                    nn.Conv2d(
                        dim, dim, (1, kernel), groups=dim, padding='same'),
                    nn.GELU(), nn.BatchNorm2d(dim),
                    nn.Conv2d(
                        dim, dim, (kernel, 1), groups=dim, padding='same'),
                    nn.GELU(), nn.BatchNorm2d(dim))
            else:
                spatial = nn.Sequential(
                    nn.Conv2d(dim, dim, kernel, groups=dim, padding='same'),
                    nn.GELU(), nn.BatchNorm2d(dim))
            blocks += [
                Residual(spatial),
                nn.Sequential(
                    original_channel_mixer(setting, dim, i), nn.GELU(),
                    nn.BatchNorm2d(dim))
            ]
        self.mixer_blocks = nn.Sequential(*blocks)
        self.pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        return self.head(self.pooling(self.mixer_blocks(self.patch_emb(x))))


class OriginalStrideMixer(nn.Module):
    """The notebook's StrideMixer: 3-D channel mixing, its own names and its
    check of the kernel and stride."""

    def __init__(self, dim, depth, kernel, patch, classes, channel_kernel,
                 channel_stride):
        super().__init__()
        self.patch_emb = nn.Sequential(
            nn.Conv2d(3, dim, patch, stride=patch), nn.GELU(),
            nn.BatchNorm2d(dim))
        # The original computes the number of windows as a real number and
        # asserts that it divides the channels.
        windows = (dim - channel_kernel) / channel_stride + 1
        assert dim % windows == 0, 'setting is not valid'
        filters = int(dim / windows)
        self.spatial_mixer = nn.ModuleList(
            Residual(
                nn.Sequential(
                    nn.Conv2d(
                        dim, dim, (1, kernel), groups=dim, padding='same'),
                    nn.GELU(), nn.BatchNorm2d(dim),
                    nn.Conv2d(
                        dim, dim, (kernel, 1), groups=dim, padding='same'),
                    nn.GELU(), nn.BatchNorm2d(dim))) for _ in range(depth))
        self.channel_mixer = nn.ModuleList(
            nn.Sequential(
                nn.Conv3d(
                    1,
                    filters, (channel_kernel, 1, 1),
                    stride=(
                        channel_stride, 1,
                        1)), nn.GELU(), nn.Flatten(1, 2), nn.BatchNorm2d(dim))
            for _ in range(depth))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.Linear(dim, classes))

    def forward_features(self, x):
        x = self.patch_emb(x)
        for spatial, channel in zip(self.spatial_mixer, self.channel_mixer):
            x = channel(spatial(x).unsqueeze(1))
        return x

    def forward(self, x):
        return self.head(self.forward_features(x))


def notebook_kernel_and_stride(dim, setting, ratio=2 / 3, segments=2):
    """The channel kernel and stride the notebook derives from its
    settings."""
    if setting == 'III':
        return dim // segments, dim // segments
    width = int(dim * ratio)
    return width, dim - width


def original_sequential(setting,
                        dim,
                        depth,
                        kernel,
                        patch,
                        classes,
                        spatial_trick=True):
    """The notebook's earlier models: one nn.Sequential of stem, blocks,
    pooling, flattening and head (setting None: its ConvMixer)."""

    def spatial():
        if spatial_trick:
            return nn.Sequential(
                nn.Conv2d(dim, dim, (1, kernel), groups=dim, padding='same'),
                nn.GELU(), nn.BatchNorm2d(dim),
                nn.Conv2d(dim, dim, (kernel, 1), groups=dim, padding='same'),
                nn.GELU(), nn.BatchNorm2d(dim))
        return nn.Sequential(
            nn.Conv2d(dim, dim, kernel, groups=dim, padding='same'), nn.GELU(),
            nn.BatchNorm2d(dim))

    return nn.Sequential(
        nn.Conv2d(3, dim, patch, stride=patch), nn.GELU(), nn.BatchNorm2d(dim),
        *[
            nn.Sequential(
                Residual(spatial()), original_channel_mixer(setting, dim, i),
                nn.GELU(), nn.BatchNorm2d(dim)) for i in range(depth)
        ], nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, classes))


class TimmConvMixer(nn.Module):
    """timm's ConvMixer: stem, blocks, pooling, head."""

    def __init__(self, dim, depth, kernel, patch, classes):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, dim, patch, stride=patch), nn.GELU(),
            nn.BatchNorm2d(dim))
        self.blocks = nn.Sequential(*[
            nn.Sequential(
                Residual(
                    nn.Sequential(
                        nn.Conv2d(
                            dim, dim, kernel, groups=dim, padding='same'),
                        nn.GELU(), nn.BatchNorm2d(dim))), nn.Conv2d(
                            dim, dim, 1), nn.GELU(), nn.BatchNorm2d(dim))
            for _ in range(depth)
        ])
        self.pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        return self.head(self.pooling(self.blocks(self.stem(x))))


def randomise_batch_norm(model, seed=0):
    """Non-default BatchNorm weights and statistics, so that a tensor that
    is mapped or computed wrongly changes the outputs."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                if module.affine:
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
    return model
