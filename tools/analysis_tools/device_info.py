"""How the analysis tools name the device their figures were measured on."""
import platform


def cpu_model_name() -> str:
    """The CPU's model name as ``/proc/cpuinfo`` gives it, else what
    :mod:`platform` knows."""
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as file:
            for line in file:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return name


def describe_device(device: str) -> str:
    """``'cuda'``: the GPU's name and the CUDA version of torch; ``'cpu'``:
    the CPU's model name and the threads torch computes with."""
    import torch
    if device == 'cuda':
        return f'{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})'
    return f'{cpu_model_name()} ({torch.get_num_threads()} threads)'
