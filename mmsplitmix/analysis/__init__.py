from .complexity import (PAPER_OP_HANDLES, count_flops, count_params,
                         format_millions, get_complexity)

__all__ = [
    'PAPER_OP_HANDLES', 'count_flops', 'count_params', 'format_millions',
    'get_complexity'
]
