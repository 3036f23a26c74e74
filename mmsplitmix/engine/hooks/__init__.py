from .model_form_hooks import ChannelsLastHook, FastInferenceHook

__all__ = ['ChannelsLastHook', 'FastInferenceHook']
