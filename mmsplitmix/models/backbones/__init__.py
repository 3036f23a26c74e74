from .channel_mixers import (CHANNEL_MIXERS, MIXER_SETTINGS, BaseChannelMixer,
                             Conv3dChannelMixer,
                             IndependentSegmentChannelMixer,
                             PartialChannelMixer, SharedSegmentChannelMixer,
                             SingleSegmentChannelMixer, TwoPassChannelMixer,
                             build_channel_mixer, channel_mixer_class)
from .splitmixer import SplitMixer

__all__ = [
    'SplitMixer', 'MIXER_SETTINGS', 'CHANNEL_MIXERS', 'BaseChannelMixer',
    'PartialChannelMixer', 'SingleSegmentChannelMixer',
    'SharedSegmentChannelMixer', 'IndependentSegmentChannelMixer',
    'TwoPassChannelMixer', 'Conv3dChannelMixer', 'build_channel_mixer',
    'channel_mixer_class'
]
