FROM nvcr.io/nvidia/tritonserver:24.08-py3
RUN pip install --no-cache-dir onnx==1.16.2
WORKDIR /work
COPY export.py .
USER 1000
CMD ["python3", "export.py", "--out", "/models/bert/1/model.onnx"]
