#!/bin/bash
docker run -it --gpus all -p 127.0.0.1:8888:8888 -v $PWD:/workspace pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime \
  jupyter lab --ip 0.0.0.0 --allow-root
