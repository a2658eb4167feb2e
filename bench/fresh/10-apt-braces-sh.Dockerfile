FROM nvidia/cuda:12.4.1-devel-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends git cmake \
    && rm -rf /var/lib/apt/lists/{partial,lock}
RUN useradd -m -u 1000 dev
USER 1000
CMD ["bash"]
