#!/usr/bin/env python3
"""Regenerate samples/ from the templates: python scripts/regen_samples.py [--check].

--check exits 1 (listing the files) when samples/ differs from what the templates produce now.
"""
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (folder under samples/, dlgen new arguments)
SAMPLES = [
    ("llama-8b-serve", "--model llama-8b"),
    ("llama-8b-fastapi", "--model llama-8b --server fastapi"),
    ("llama-70b-vllm", "--model llama-70b --server vllm --gpus 4"),
    ("resnet50-serve", "--model resnet50"),
    ("whisper-large-v3-docker24", "--model whisper-large-v3 --docker-version 24"),
    ("mistral-7b-train", "--model mistral-7b --kind train"),
    ("llama-405b-vllm-2-nodes", "--model llama-405b --server vllm"),
    ("llama-8b-train-2-nodes", "--model llama-8b --kind train --nodes 2 --gpus 8"),
    ("notebook", "--kind notebook"),
    ("tensorboard", "--kind tensorboard"),
    ("dev", "--kind dev"),
]


PLANS: dict[str, dict] = {}   # folder -> the manifest's plan, as `dlgen new` records it


INT_OPTIONS = ("nodes", "port", "start_period")


def render_all() -> dict[Path, str]:
    from dlgen import bundle, spec

    out = {}
    for folder, args in SAMPLES:
        argv = shlex.split(args)
        opts = {}
        it = iter(argv)
        for flag in it:
            key = flag.lstrip("-").replace("-", "_")
            opts[key] = int(next(it)) if key in INT_OPTIONS else next(it)
        s = spec.build(**opts)
        PLANS[folder] = bundle.plan(s)
        for rel, text in bundle.render(s, bundle.canonical_command({"kind": "serve", **opts})).items():
            out[Path(folder) / rel] = text
    return out


def main(argv):
    samples = ROOT / "samples"
    files = render_all()
    if "--check" in argv:
        drift = [str(p) for p, text in files.items()
                 if not (samples / p).is_file() or (samples / p).read_text(encoding="utf-8") != text]
        for p in drift:
            print(f"samples/{p} differs from the templates; run: python scripts/regen_samples.py")
        return 1 if drift else 0
    from dlgen import bundle

    by_dir: dict[Path, dict[str, str]] = {}
    for p, text in files.items():
        by_dir.setdefault(samples / p.parts[0], {})[str(Path(*p.parts[1:]))] = text
    import shutil

    for d, fs in by_dir.items():   # written afresh, as `dlgen new` writes a new folder (with its manifest)
        shutil.rmtree(d, ignore_errors=True)
        bundle.write(fs, d, plan=PLANS.get(d.name))
    print(f"wrote {len(files)} files under samples/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
