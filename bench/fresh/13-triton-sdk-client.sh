#!/bin/bash
# the server
docker run -d --gpus all --restart unless-stopped -p 8000:8000 -p 8001:8001 -p 8002:8002 \
  -v $PWD/model_repository:/models nvcr.io/nvidia/tritonserver:24.08-py3 tritonserver --model-repository=/models
# the client: perf_analyzer from the SDK image
docker run --rm --net=host nvcr.io/nvidia/tritonserver:24.08-py3-sdk perf_analyzer -m resnet50_onnx --concurrency-range 1:4
