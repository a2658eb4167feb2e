FROM ghcr.io/huggingface/text-generation-inference:2.4.1
COPY ./custom_models/ /data/custom_models/
COPY server server
RUN cd server && pip install --no-cache-dir -e . --no-deps
