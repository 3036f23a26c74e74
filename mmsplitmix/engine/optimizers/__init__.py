from .amp_fallback_constructor import AmpFallbackOptimWrapperConstructor

__all__ = ['AmpFallbackOptimWrapperConstructor']
