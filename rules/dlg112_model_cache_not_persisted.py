"""DLG112 model-cache-not-persisted.

What it does: reports a server that downloads its weights from the hub at start (a known server
preset, vLLM, SGLang, TGI or TEI, given a Hugging Face repository id as its model) when no volume
holds the cache path that server uses: `$HF_HOME` (or `$HF_HUB_CACHE`) when the run sets it, else
the server image's own default from servers.yaml (`hf_cache`: vLLM and SGLang
`/root/.cache/huggingface`, TGI and TEI `/data`), or the directory the server's own option names
(`--download-dir`, `--huggingface-hub-cache`). Also reports a cache volume mounted at one of those
paths that this server does not use.
Why is this bad: without the volume every new container (each restart after `docker rm`, each
compose `up` after `down`, each new pod) downloads the weights again: minutes for an 8B model,
rate limits (429) on scale-out, and the first start's download runs under the health clock
(huggingface_hub: HF_HOME; TGI README: `-v $volume:/data`; vLLM docs: `-v ~/.cache/huggingface:/root/.cache/huggingface`).
In a Kubernetes manifest an emptyDir at the cache path counts as none: it goes with its pod, so every
new pod downloads the weights again.
Use instead: a named volume at the path the server uses, e.g. `-v hf-cache:/data` for TGI.
"""

from collections.abc import Iterator

from dlgen import reference, rulekit
from dlgen.runspec import RunSpec

ID = "DLG112"
NAME = "model-cache-not-persisted"
SEVERITY = "warning"
TARGET = "run"
WHY = "Without a volume at the server's cache path, every new container downloads the weights again."
FAIL = [
    "docker run -d --gpus 1 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct\n",
    "docker run -d --gpus 1 -v hf:/root/.cache/huggingface ghcr.io/huggingface/text-generation-inference:3.3.4 "
    "--model-id meta-llama/Llama-3.1-8B-Instruct\n",
    "services:\n  llm:\n    image: vllm/vllm-openai:v0.11.0\n    command: [--model, Qwen/Qwen2.5-7B-Instruct]\n"
    "    environment: [HF_HOME=/hf]\n    volumes: [cache:/root/.cache/huggingface]\n",
    "docker run -d --gpus all -p 8080:80 ghcr.io/huggingface/text-embeddings-inference:1.8 "
    "--model-id BAAI/bge-large-en-v1.5\n",
]
PASS = [
    "docker run -d --gpus 1 -v hf-cache:/root/.cache/huggingface vllm/vllm-openai:v0.11.0 "
    "--model meta-llama/Llama-3.1-8B-Instruct\n",
    "docker run -d --gpus 1 -v tgi:/data ghcr.io/huggingface/text-generation-inference:3.3.4 "
    "--model-id meta-llama/Llama-3.1-8B-Instruct\n",
    "docker run -d --gpus 1 -v /srv/models:/models:ro vllm/vllm-openai:v0.11.0 --model /models/llama-8b\n",
    "docker run -d --gpus 1 -v hf:/hf_cache vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct "
    "--download-dir /hf_cache/\n",
    "services:\n  llm:\n    image: vllm/vllm-openai:v0.11.0\n    command: [--model, Qwen/Qwen2.5-7B-Instruct]\n"
    "    environment: [HF_HOME=/hf]\n    volumes: [cache:/hf]\n",
    "docker run -d --gpus all -p 8080:80 -v tei:/data ghcr.io/huggingface/text-embeddings-inference:1.8 "
    "--model-id BAAI/bge-large-en-v1.5\n",
]


def _covers(target: str, path: str) -> bool:
    target = target.rstrip("/") or "/"
    return path == target or path.startswith(target + "/")


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    yield from _hits(spec, rulekit.where(spec))


def _hits(spec: RunSpec, where: str) -> Iterator[rulekit.Hit]:
    """The finding for one container, named ``where`` (a docker run, a compose service, a pod's container)."""
    words = spec.full_command()
    server = rulekit.server_of(spec.image, " ".join(words))
    preset = reference.servers()["servers"].get(server or "") or {}
    default = preset.get("hf_cache")
    model = rulekit.hub_model_id(words, spec.env)
    if not default or not model:
        return
    flagged = rulekit.option_value(words, preset.get("cache_flags") or [])
    path = (flagged or spec.env.get("HF_HUB_CACHE") or spec.env.get("HF_HOME") or default).rstrip("/") or "/"
    if any(_covers(v.target, path) for v in spec.volumes if v.target):
        return
    unused = [v.target for v in spec.volumes if v.target and v.target.rstrip("/") in (
        "/data", "/root/.cache/huggingface", "/root/.cache", default)]
    if unused:
        yield rulekit.Hit(line=spec.line, message=f"{where} mounts a cache at {unused[0]}, but {server} keeps "
                          f"{model} under {path}: every new container downloads it again",
                          hint=f"mount the volume at {path}")
        return
    yield rulekit.Hit(line=spec.line, message=f"{where} downloads {model} at every new container: no volume at "
                      f"{path}, where {server} keeps it", hint=f"add a named volume, e.g. -v hf-cache:{path}")


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
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          volumeMounts: [{name: hf, mountPath: /root/.cache/huggingface}]
      volumes: [{name: hf, emptyDir: {}}]
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
          volumeMounts: [{name: hf, mountPath: /root/.cache/huggingface}]
      volumes: [{name: hf, persistentVolumeClaim: {claimName: hf-cache}}]
""",
]


def check_kubernetes(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    """A pod's emptyDir goes with the pod: the cache must be on a claim (or a host path) to outlive it."""
    from dataclasses import replace

    kept = replace(spec, volumes=[v for v in spec.volumes if v.kind != "emptydir"], entrypoint=None,
                   command=rulekit.k8s_words(spec))   # a `sh -c` script's own words
    for hit in _hits(kept, rulekit.k8s_where(spec)):
        on_empty = len(kept.volumes) < len(spec.volumes)
        yield rulekit.Hit(line=hit.line, message=hit.message + (" (an emptyDir goes with its pod)" if on_empty else ""),
                          hint="mount a PersistentVolumeClaim at the cache path (fetched into by an init container)")
