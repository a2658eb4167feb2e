FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu20.04
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip \
    && rm -rf /var/lib/apt/lists/*
RUN pip3 install --no-cache-dir "torch>=2.0" torchvision
RUN useradd -m -u 1000 app
USER 1000
WORKDIR /home/app
COPY --chown=app . .
CMD ["python3", "main.py"]
