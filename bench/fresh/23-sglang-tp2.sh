#!/bin/bash
docker run -d --gpus all --restart unless-stopped -p 30000:30000 -v ~/.cache/huggingface:/root/.cache/huggingface \
  lmsysorg/sglang:v0.4.0 python3 -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --tp 2 --host 0.0.0.0
