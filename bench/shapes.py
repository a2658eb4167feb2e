"""Files of N lines in the shapes that stress a linter's algorithms (one instruction per line, one
instruction over many lines, many stages, many services...). Used by the linearity benchmark and
the hostile-input tests."""

from __future__ import annotations


def dockerfile_runs(n: int) -> str:
    return "FROM python:3.11-slim\n" + "RUN pip install numpy==1.26.4 && apt-get update\n" * n


def dockerfile_continuation(n: int) -> str:
    return "FROM python:3.11-slim\nRUN echo start \\\n" + "    && echo more \\\n" * n + "    && echo end\n"


def dockerfile_stages(n: int) -> str:
    out = ["FROM python:3.11-slim AS s0"]
    out += [f"FROM s{i - 1} AS s{i}" for i in range(1, n)]
    return "\n".join(out) + "\nCMD [\"python\"]\n"


def dockerfile_comments(n: int) -> str:
    return "FROM python:3.11-slim\n" + "# dlgen: ignore=DLG030\nRUN pip install x\n" * (n // 2)


def dockerfile_env(n: int) -> str:
    return "FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\n" + "".join(
        f"ENV K{i}=v{i}\nLABEL l{i}=x\n" for i in range(n // 2)) + "CMD python serve.py --port 8000\n"


def compose_services(n: int) -> str:
    per = 4
    return "services:\n" + "".join(
        f"  s{i}:\n    image: vllm/vllm-openai:v0.11.0\n    ports: ['8000']\n    restart: always\n"
        for i in range(n // per))


def shell_runs(n: int) -> str:
    return "#!/bin/sh\n" + "docker run --gpus all -p 8000:8000 --rm img:1 python train.py\n" * n


def markdown_runs(n: int) -> str:
    return "# Title\n\n```bash\n" + "docker run --gpus all -it img:1 python x.py\n" * n + "```\n"


def dockerfile_rm_flags(n: int) -> str:
    """One apt RUN whose rm takes a flag a line (DLG033 reads the whole command)."""
    return ("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm \\\n"
            + "    -a \\\n" * n + "    /tmp/x\nUSER 1000\nCMD [\"python\"]\n")


def dockerfile_nested_default(n: int) -> str:
    """An ARG default nested a level a line: ${X:-${X:-...} (ARG expansion), never closed."""
    return "FROM python:3.11-slim\nARG X=\\\n" + "${X:-\\\n" * n + "y\nRUN echo $X\nUSER 1000\nCMD [\"python\"]\n"


def dockerfile_pip_installs(n: int) -> str:
    """One RUN of many pip installs, one a line (DLG030, DLG037, DLG022 read each)."""
    return ("FROM python:3.11-slim\nRUN pip install numpy \\\n" + "    && pip install numpy \\\n" * n
            + "    && true\nUSER 1000\nCMD [\"python\"]\n")


def compose_long_list(n: int) -> str:
    """One service whose command is a list of n items (no aliases)."""
    return "services:\n  a:\n    image: python:3.11-slim\n    command:\n" + "      - x\n" * n


SHAPES = {
    "Dockerfile (one RUN a line)": ("Dockerfile", dockerfile_runs),
    "Dockerfile (one RUN, continued)": ("Dockerfile", dockerfile_continuation),
    "Dockerfile (a stage a line)": ("Dockerfile", dockerfile_stages),
    "Dockerfile (ignore comments)": ("Dockerfile", dockerfile_comments),
    "Dockerfile (ENV/LABEL)": ("Dockerfile", dockerfile_env),
    "compose (services)": ("compose.yaml", compose_services),
    "shell (docker run lines)": ("run.sh", shell_runs),
    "Markdown (docker run lines)": ("README.md", markdown_runs),
    "Dockerfile (rm -a -a ..., continued)": ("Dockerfile", dockerfile_rm_flags),
    "Dockerfile (nested ${X:-, continued)": ("Dockerfile", dockerfile_nested_default),
    "Dockerfile (repeated pip install, continued)": ("Dockerfile", dockerfile_pip_installs),
    "compose (one long list)": ("compose.yaml", compose_long_list),
}
