"""dlgen: Dockerfiles and run configurations for PyTorch on GPUs, right by construction."""

__version__ = "0.1.0"
