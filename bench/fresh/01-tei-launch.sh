#!/bin/sh
# two embedding servers, one GPU each
volume=/storage/hf_models
model=BAAI/bge-m3
docker run --gpus all -e CUDA_VISIBLE_DEVICES=0 -p 8081:80 -v $volume:/data --pull always ghcr.io/huggingface/text-embeddings-inference:1.5 --model-id $model
docker run --gpus all -e CUDA_VISIBLE_DEVICES=1 -p 8082:80 -v $volume:/data --pull always ghcr.io/huggingface/text-embeddings-inference:1.5 --model-id $model --max-batch-tokens 32768
