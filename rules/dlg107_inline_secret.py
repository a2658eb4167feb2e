"""DLG107 inline-secret.

What it does: reports a secret-like variable (HF_TOKEN, WANDB_API_KEY, `*_TOKEN`, `*_API_KEY`,
...) given a literal value on the command line or in a compose file, and a server's own secret
option (`--api-key`, `--hf-token`) given a literal value in the command.
Why is this bad: the value lands in shell history, CI logs, `ps` output, the compose file in
git, and `docker inspect` for anyone with access to the engine.
Use instead: `--env-file .env` (kept out of git), or `-e HF_TOKEN` (name only: the value comes
from your shell); in compose, `${HF_TOKEN}` or `secrets:`. In a Kubernetes manifest: a secret-like
variable with a literal `value:` (it is stored in the object, in git, and shown by `kubectl get -o
yaml`); use `valueFrom: {secretKeyRef: ...}`.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec, is_secret_name

ID = "DLG107"
NAME = "inline-secret"
SEVERITY = "warning"
TARGET = "run"
WHY = "A literal secret on the command line or in compose leaks through history, logs and docker inspect."
FAIL = ["docker run --gpus all -e HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz my/model:1\n",
        "docker run --gpus all --env WANDB_API_KEY=0123456789abcdef my/train:1\n",
        # a secret passed as a server option (vLLM's --api-key)
        'docker run --gpus all vllm/vllm-openai:v0.11.0 --model Qwen/Qwen2.5-7B-Instruct --api-key "test_api_key"\n']
PASS = ["docker run --gpus all -e HF_TOKEN my/model:1\n", "docker run --gpus all --env-file .env my/model:1\n",
        'docker run --gpus all -e VLLM_API_KEY vllm/vllm-openai:v0.11.0 --model m --api-key "$VLLM_API_KEY"\n',
        'docker run --gpus all -e HF_TOKEN="$HF_TOKEN" my/model:1\n']


# A server's own options that take a secret (vLLM and SGLang --api-key; TGI's --api-key; the Hub token).
SECRET_FLAGS = ("--api-key", "--api_key", "--hf-token", "--hf_token", "--token")


def secret_flags(words: list[str]) -> list[str]:
    """The secret-taking options of a command given a literal value (not a variable)."""
    found = []
    for i, w in enumerate(words):
        flag, eq, value = w.partition("=")
        if flag not in SECRET_FLAGS:
            continue
        value = value if eq else (words[i + 1] if i + 1 < len(words) else "")
        if value.strip() and "$" not in value and not value.startswith("-"):
            found.append(flag)
    return found


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for name, value in spec.env.items():
        if value is None or not is_secret_name(name) or not value.strip() or "$" in value:
            continue
        yield rulekit.Hit(line=spec.line, message=f"{name} is given a literal value", hint=f"pass -e {name} (name only) or --env-file; in compose use ${{{name}}} or secrets:")
    for flag in secret_flags(spec.full_command()):
        yield rulekit.Hit(line=spec.line, message=f"the server's {flag} is given a literal value on the command line",
                          hint=f"give {flag} a variable (e.g. {flag} \"$API_KEY\", passed with -e API_KEY)")


KUBERNETES_FAIL = [
    """\
apiVersion: v1
kind: Pod
metadata: {name: llm}
spec:
  containers:
    - name: vllm
      image: vllm/vllm-openai:v0.11.0
      env: [{name: HF_TOKEN, value: hf_abcdefghijklmnopqrstuvwxyz}]
""",
]
KUBERNETES_PASS = [
    """\
apiVersion: v1
kind: Pod
metadata: {name: llm}
spec:
  containers:
    - name: vllm
      image: vllm/vllm-openai:v0.11.0
      env: [{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf-token, key: token}}}]
""",
]


def check_kubernetes(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    for name, value in spec.env.items():
        if value is None or not is_secret_name(name) or not value.strip():
            continue
        yield rulekit.Hit(line=info.secret_lines.get(name, spec.line) if info else spec.line,
                          message=f"{rulekit.k8s_where(spec)}: {name} has a literal value in the manifest",
                          hint=f"use valueFrom: {{secretKeyRef: {{name: {name.lower().replace('_', '-')}, key: token}}}}")
    for flag in secret_flags(rulekit.k8s_words(spec)):
        yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)}: the server's {flag} is given a literal "
                          "value in the manifest", hint=f"give {flag} $(API_KEY), an env var from a secretKeyRef")
