FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-devel
RUN pip install --no-cache-dir flash-attn==2.6.3 --no-build-isolation
EXPOSE 7860
EXPOSE 8000
