from .channel_mixers import (IndependentSegmentChannelMixer,
                             PartialChannelMixer, SharedSegmentChannelMixer,
                             SingleSegmentChannelMixer, Conv3dChannelMixer,
                             TwoPassChannelMixer, build_channel_mixer)
from .splitmixer import MIXER_SETTINGS, SplitMixer

__all__ = [
    'SplitMixer', 'MIXER_SETTINGS', 'PartialChannelMixer',
    'SingleSegmentChannelMixer', 'SharedSegmentChannelMixer',
    'IndependentSegmentChannelMixer', 'TwoPassChannelMixer',
    'Conv3dChannelMixer', 'build_channel_mixer'
]
