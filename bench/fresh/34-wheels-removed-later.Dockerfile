FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS builder
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip git && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip3 wheel --no-cache-dir -w /build/wheels -r requirements.txt

FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
COPY --from=builder /build/wheels /opt/wheels
RUN pip3 install --no-cache-dir /opt/wheels/*.whl && rm -rf /opt/wheels
COPY . /app
WORKDIR /app
USER 1000
CMD ["python3", "server.py"]
