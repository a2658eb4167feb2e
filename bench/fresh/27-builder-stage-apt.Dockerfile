ARG CUDA_VERSION=12.4.0
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04 AS build
RUN apt-get update && \
    apt-get install -y build-essential cmake python3 python3-pip git libcurl4-openssl-dev libgomp1
WORKDIR /app
COPY . .
RUN cmake -B build -DGGML_CUDA=ON && cmake --build build --config Release -j

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu22.04 AS server
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/build/bin/llama-server /app/llama-server
USER 1000
HEALTHCHECK --interval=30s --start-period=60s CMD ["curl", "-f", "http://localhost:8080/health"]
ENTRYPOINT ["/app/llama-server", "--host", "0.0.0.0", "--port", "8080"]
