#!/bin/bash
# serve a 7B model with the newest vLLM image
docker run -d --runtime nvidia --gpus all --ipc=host \
    -v ~/.cache/huggingface:/root/.cache/huggingface \
    -p 9898:8000 \
    vllm/vllm-openai:latest \
    --model Qwen/Qwen2.5-7B-Instruct --max_model_len 1024 --api-key "test_api_key" --gpu_memory_utilization 0.7
