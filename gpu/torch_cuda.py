"""Runs ../shared/reference/torch_step.py (the project's PyTorch speed anchor, written for the CPU) on a
CUDA GPU without changing it: every tensor and module is created on the GPU (torch.set_default_device,
PyTorch >= 2.0), and the script's timer waits for the GPU (torch.cuda.synchronize) before each reading,
so its seconds per step are GPU time, not kernel-launch time.

usage: python3 torch_cuda.py PATH/TO/torch_step.py [its arguments]
"""
import runpy
import sys
import time

import torch

if not hasattr(torch, "set_default_device"):
    sys.exit(f"torch_cuda.py: needs PyTorch >= 2.0 (torch.set_default_device), found {torch.__version__}")
if not torch.cuda.is_available():
    sys.exit("torch_cuda.py: PyTorch sees no CUDA device")
torch.set_default_device("cuda")
torch.backends.cudnn.benchmark = True  # as PyTorch users train: the fastest convolution algorithm per shape
_perf_counter = time.perf_counter


def _synchronized_perf_counter():
    torch.cuda.synchronize()
    return _perf_counter()


time.perf_counter = _synchronized_perf_counter
script, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(script, run_name="__main__")
