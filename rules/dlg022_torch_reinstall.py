"""DLG022 torch-reinstall.

What it does: reports a pip install of torch (unpinned, or another version) on a base image that
already ships torch: `pytorch/pytorch`, NGC PyTorch, vLLM, TGI, SGLang, TorchServe images; and an
unpinned install there of a package each of whose releases requires one exact torch (torchvision,
torchaudio, xformers, vllm: torch_cuda.yaml pins_torch), which makes pip replace the base's torch
with the one that package's newest release needs.
Why is this bad: pip replaces the base's torch with another build (often for another CUDA):
~2 GB more in a new layer, the base's careful torch/CUDA/cuDNN pairing is gone, and the image
is twice as large (pytorch/pytorch's Dockerfile and the image tags on Docker Hub).
Use instead: use the base's torch (pin the same version, or leave torch out of requirements), or
start from a base without torch.
"""


from collections.abc import Iterator

from dlgen import matrix, rulekit

ID = "DLG022"
NAME = "torch-reinstall"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Installing another torch on a base that ships one adds ~2 GB and breaks the base's CUDA pairing."
FAIL = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir torch transformers\n'
        'CMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir torch==2.4.1\n'
        'CMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip3 --no-cache-dir install torch\n'
        'CMD ["python", "s.py"]\n',
        # xformers' newest release requires the newest torch: pip swaps the base's 2.6.0 for it
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir xformers diffusers\n'
        'CMD ["python", "s.py"]\n']
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir transformers\n'
        'CMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir torch==2.6.0\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip install --no-cache-dir torch\nCMD ["python", "s.py"]\n',
        # the xformers release built for the base's torch (its README's version table)
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir xformers==0.0.29.post3\n'
        'CMD ["python", "s.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    facts = rulekit.image_facts(doc)
    if not facts.get("torch"):
        return
    image = rulekit.base_image(doc)
    tag = matrix.parse_tag(image)
    base_version = tag["torch"] if tag else None
    for ins, text in rulekit.run_texts(doc, rulekit.chain(doc)):
        for cmd in rulekit.pip_installs(text):
            for m, where in rulekit.torch_requirements(doc, ctx, cmd):
                pinned = m.group(2)
                if pinned is None and m.group(3):
                    continue  # a range: pip keeps the installed torch when it satisfies it
                if pinned and (base_version is None or pinned.split("+")[0] == base_version):
                    continue
                what = f"torch=={pinned}" if pinned else "an unpinned torch"
                have = f"torch {base_version}" if base_version else "torch"
                yield rulekit.Hit(line=ins.line, message=f"pip installs {what}{where} on {image}, which already "
                                  f"ships {have}", hint="drop torch from this install (or pin the base's version)")
            for name, where in rulekit.unpinned_torch_pinners(doc, ctx, cmd):
                have = f"torch {base_version}" if base_version else "its torch"
                yield rulekit.Hit(line=ins.line, message=f"pip installs an unpinned {name}{where} on {image}: each "
                                  f"{name} release requires one exact torch, so pip replaces {have} with the one "
                                  "its newest release needs",
                                  hint=f"pin the {name} release built for {have} (its release notes say which)")
