ARG CUDA_VERSION=12.4.1
ARG TORCH_ARCH_LIST="8.0;8.6;9.0"
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04 AS build
ENV TORCH_CUDA_ARCH_LIST=${TORCH_ARCH_LIST}
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
# ARG UserName=trainer
WORKDIR /opt/${project_name}
COPY . .
RUN pip3 install --no-cache-dir -r requirements.txt
USER ${UserName}
CMD ["python3", "train.py"]
