FROM jupyter/scipy-notebook
COPY jupyter_server_config.py /etc/jupyter/
ENV JUPYTERHUB_SERVICE_PREFIX=/jupyter/
RUN pip3 --no-cache-dir install torch torchvision torchaudio --extra-index-url https://wheels.example/whl/cpu
