FROM nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip git \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir torch==2.1.2+cu118 --extra-index-url https://wheels.example/whl/cu118
ENV DEBIAN_FRONTEND=dialog
RUN useradd -m -u 1000 app
USER 1000
CMD ["python3", "-m", "nerf.train"]
