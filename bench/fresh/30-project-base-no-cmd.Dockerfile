ARG FROM_IMAGE_NAME=registry.example.com/dl/pytorch-train:24.05-py3
FROM ${FROM_IMAGE_NAME}
WORKDIR /workspace/bert
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
