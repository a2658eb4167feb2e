#!/bin/bash
# fine-tune on 2 GPUs
docker run --rm --gpus all -v $PWD/data:/data -v $PWD/out:/out myorg/finetune:1.2 \
  torchrun --nproc_per_node 2 train.py --data /data --output_dir /out --dataloader_num_workers 8
