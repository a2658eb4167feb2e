#!/bin/bash
docker run -d --rm --name llm --gpus all -p 8000:8000 \
  -v ~/.cache/huggingface:/root/.cache/huggingface \
  vllm/vllm-openai:v0.6.3 --model mistralai/Mistral-7B-Instruct-v0.3
