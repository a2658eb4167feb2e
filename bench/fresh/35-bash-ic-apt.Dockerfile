FROM python:3.11-slim
RUN apt update && apt install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
SHELL ["/bin/bash", "-c"]
RUN bash -ic "pip install openai-whisper==20240930"
WORKDIR /app
COPY transcribe.py .
USER 1000
CMD ["python", "transcribe.py"]
