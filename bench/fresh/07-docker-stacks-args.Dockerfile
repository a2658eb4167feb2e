ARG REGISTRY=quay.io
ARG OWNER=jupyter
ARG BASE_CONTAINER=$REGISTRY/$OWNER/scipy-notebook
FROM $BASE_CONTAINER

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN pip install --no-cache-dir --index-url 'https://wheels.example/whl/cpu' \
    'torch' \
    'torchvision' && \
    fix-permissions "${CONDA_DIR}"
