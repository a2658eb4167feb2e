#!/bin/sh
docker run -d --restart unless-stopped --gpus all -p 8080:8080 -v /models:/models \
  ghcr.io/ggml-org/llama.cpp:server-cuda -m /models/llama-3.1-8b-q4_k_m.gguf --host 0.0.0.0 --port 8080 --n-gpu-layers 99
