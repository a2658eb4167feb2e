FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
WORKDIR /app
RUN pip install --no-cache-dir diffusers==0.31.0 transformers==4.46.3 accelerate==1.1.1 xformers
COPY train_dreambooth.py .
USER 1000
CMD ["python", "train_dreambooth.py"]
