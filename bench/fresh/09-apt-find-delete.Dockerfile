FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip \
    && find /var/lib/apt/lists -type f -delete
RUN useradd -m -u 1000 app
USER 1000
COPY --chown=app infer.py /home/app/infer.py
CMD ["python3", "/home/app/infer.py"]
