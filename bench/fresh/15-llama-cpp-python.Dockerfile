FROM nvidia/cuda:12.4.1-devel-ubuntu22.04
ENV HOST=0.0.0.0
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip gcc \
    && rm -rf /var/lib/apt/lists/*
RUN CMAKE_ARGS="-DGGML_CUDA=on" pip install --no-cache-dir llama-cpp-python==0.3.2
RUN useradd -m -u 1000 app
USER 1000
CMD ["python3", "-m", "llama_cpp.server", "--model", "/models/model.gguf"]
