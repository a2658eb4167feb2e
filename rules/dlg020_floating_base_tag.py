"""DLG020 floating-base-tag.

What it does: reports a base image with no tag, the `latest` tag or a variant of it (`latest-gpu`,
`latest-cuda`: the newest release of that variant; digests are fine).
Why is this bad: `latest` moves; `pytorch/pytorch:latest` has changed CUDA major versions
between releases (pytorch/pytorch's Dockerfile and the image tags on Docker Hub), so the same Dockerfile builds an image that no
longer runs on your driver, with no change in your repository.
Use instead: a full tag (`pytorch/pytorch:2.10.0-cuda12.8-cudnn9-runtime`) or a digest.

In a `docker run` line or a compose service (one compose does not build), and in a Kubernetes
manifest, it reports an image pulled from a registry (its name has a namespace or registry part) by
`:latest` or no tag: the host runs whatever it pulled last. In a Kubernetes manifest which image runs depends on when each node
pulled it, so the pods of one group can run different server versions (Kubernetes docs, "Images":
avoid :latest in production; the upstream LeaderWorkerSet examples use it). A bare name (an
official image, or the one you build and push under a tag of your choosing) is left alone there.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG020"
NAME = "floating-base-tag"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "An untagged or latest base image changes under you, CUDA major version included."
FAIL = ['FROM pytorch/pytorch\nCMD ["python", "s.py"]\n', 'FROM nvidia/cuda:latest\nCMD ["bash"]\n',
        # nested ARG defaults (the jupyter/docker-stacks images' REGISTRY/OWNER/BASE_IMAGE pattern)
        'ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/scipy-notebook\n'
        'FROM $BASE_IMAGE\nCMD ["start-notebook.py"]\n',
        # the newest GPU build of TensorFlow (tensorflow/tensorflow's "latest-gpu" tag moves with each release)
        'FROM tensorflow/tensorflow:latest-gpu\nCMD ["python", "train.py"]\n']
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCMD ["python", "s.py"]\n',
        'FROM python@sha256:' + "a" * 64 + '\nCMD ["python"]\n',
        'FROM python:3.11-slim AS build\nFROM build\nCMD ["python"]\n', 'FROM scratch\nCOPY x /x\n',
        'ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/scipy-notebook:2024-10-07\n'
        'FROM $BASE_IMAGE\nCMD ["start-notebook.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    local = set()
    for st in doc.stages:
        image = doc.resolve(st.base)
        if image and "$" not in image and image.lower() not in local \
                and image != "scratch" and "@" not in image:
            name = image.rsplit("/", 1)[-1]
            tag = name.split(":", 1)[1] if ":" in name else ""
            if not tag or floating_tag(tag):
                ins = next(i for i in doc.instrs if i.cmd == "FROM" and i.stage == st.index)
                yield rulekit.Hit(line=ins.line, message=f"base image {image} is {'untagged' if not tag else tag}: it "
                                  "changes under you", hint="pin a version tag (or a digest)")
        if st.name:
            local.add(st.name.lower())


KUBERNETES_FAIL = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
""",
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: lmsysorg/sglang
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
""",
]
KUBERNETES_PASS = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
""",
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: my-model-serve:latest
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
""",
]


RUN_FAIL = ["docker run -d --gpus all -p 127.0.0.1:8000:8000 vllm/vllm-openai:latest --model Qwen/Qwen2.5-7B-Instruct\n",
            "services:\n  llm:\n    image: lmsysorg/sglang\n    command: python3 -m sglang.launch_server "
            "--model-path Qwen/Qwen2.5-7B-Instruct\n"]
RUN_PASS = ["docker run -d --gpus all -p 127.0.0.1:8000:8000 vllm/vllm-openai:v0.11.0 --model Qwen/Qwen2.5-7B-Instruct\n",
            'docker build -t my-env . && docker run --gpus all -it my-env:latest bash\n',
            "services:\n  app:\n    build: .\n    image: acme/app:latest\n",
            'docker run --gpus all "${IMAGE}"\n']


def floating_tag(tag: str) -> bool:
    """`latest`, or a tag that is latest of a variant (`latest-gpu`, `latest-cuda`, `latest-rust-1.71`):
    it moves with each release of the image."""
    return tag == "latest" or tag.startswith("latest-")


def pulled_floating(image: str) -> str | None:
    """'untagged' or 'latest' for an image pulled from a registry (a namespace or registry part) by a
    floating reference; None for a pinned one, a bare name (official or built here), or a variable."""
    if not image or "@" in image or "/" not in image or "$" in image or "{" in image:
        return None
    name = image.rsplit("/", 1)[1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "untagged" if not tag else tag if floating_tag(tag) else None


def check_run(spec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.extra.get("build"):   # compose builds this image and tags it with that name
        return
    state = pulled_floating(spec.image or "")
    if state:
        where = rulekit.where(spec)
        yield rulekit.Hit(line=spec.line, message=f"{where} pulls {spec.image}, {state}: whatever the host pulled last",
                          hint="pin a version tag (or a digest)")


def check_kubernetes(spec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    state = pulled_floating(spec.image or "")
    if info and state:
        yield rulekit.Hit(line=info.image_line or spec.line,
                          message=f"{rulekit.k8s_where(spec)} runs {spec.image}, {state}: whatever each node pulled "
                                  "last", hint="pin a version tag (or a digest)")
