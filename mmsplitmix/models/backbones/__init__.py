from .channel_mixers import (IndependentSegmentChannelMixer,
                             PartialChannelMixer, SharedSegmentChannelMixer,
                             SingleSegmentChannelMixer, StrideChannelMixer,
                             TwoPassChannelMixer, build_channel_mixer)
from .splitmixer import MIXER_SETTINGS, SplitMixer

__all__ = [
    'SplitMixer', 'MIXER_SETTINGS', 'PartialChannelMixer',
    'SingleSegmentChannelMixer', 'SharedSegmentChannelMixer',
    'IndependentSegmentChannelMixer', 'TwoPassChannelMixer',
    'StrideChannelMixer', 'build_channel_mixer'
]
