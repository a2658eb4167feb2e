"""Fetch the model's weights into the cache volume, before the server starts (dlgen 0.1.0).

run.sh runs this as a one-off container, compose as a one-shot service the server waits for, and
Kubernetes as an init container: the download is never under a health probe that can kill it.
It does nothing when the weights are already in the cache (also with HF_HUB_OFFLINE=1), resumes
partial files, and retries with backoff. Environment:
  MODEL_ID              the Hugging Face repository (or MODEL_SOURCE=synthetic / module:function:
                        nothing to fetch)
  HF_TOKEN              for gated models, passed by name
  HF_ENDPOINT           a mirror of the hub
  HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT   seconds without data / for metadata (default 60 / 30)
  DLGEN_FETCH_RETRIES   attempts before giving up (default 5)
  MODEL_REPO, MODEL_FILE, MODEL_PATTERNS, MODEL_DIR
                        for servers that read files (llama.cpp, Triton, TorchServe): the repository,
                        one file of it (or the comma-separated patterns of the files the server
                        reads; empty: all), and the folder they go to, where the server's command
                        reads them
"""
import os
import sys
import time

MODEL_ID = os.environ.get("MODEL_ID", "meta-llama/Llama-3.1-405B-Instruct")
MODEL_SOURCE = os.environ.get("MODEL_SOURCE", "auto")
TORCHVISION_NAME = ""
RETRIES = int(os.environ.get("DLGEN_FETCH_RETRIES", "5"))
MODEL_REPO = os.environ.get("MODEL_REPO", "")
MODEL_FILE = os.environ.get("MODEL_FILE", "")
MODEL_PATTERNS = [p for p in os.environ.get("MODEL_PATTERNS", "").split(",") if p]
MODEL_DIR = os.environ.get("MODEL_DIR", "")
DONE = ".dlgen-fetched"   # written in MODEL_DIR once everything is there: what was fetched
# huggingface_hub reads these when it is imported: a stalled download or metadata request fails
# and is retried instead of hanging for ever
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "60")
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "30")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # one line per attempt in the logs, not a bar
ETAG_TIMEOUT = float(os.environ["HF_HUB_ETAG_TIMEOUT"])
# Weights in other formats than the one the server loads (Llama repositories carry original/*.pth
# as well as safetensors: a second copy of the download).
IGNORE = ["original/*", "*.pth", "*.gguf", "*.onnx", "onnx/*", "*.msgpack", "*.h5", "*.ot", "*.tflite"]

def say(text):
    print(f"fetch: {text}", file=sys.stderr, flush=True)

def fetch_torchvision():
    import torchvision

    weights = torchvision.models.get_model_weights(TORCHVISION_NAME).DEFAULT
    weights.get_state_dict(progress=False)  # downloads into $TORCH_HOME once
    return f"{TORCHVISION_NAME} ({weights})"

def fetch_hub():
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        path = snapshot_download(MODEL_ID, local_files_only=True)
        return f"{MODEL_ID} already in the cache ({path}); nothing to download"
    except Exception:
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise SystemExit(f"fetch: {MODEL_ID} is not in the cache and HF_HUB_OFFLINE=1 forbids the download") \
                from None
    ignore = list(IGNORE)

    def download():
        info = HfApi().model_info(MODEL_ID, files_metadata=False, timeout=ETAG_TIMEOUT)
        files = [s.rfilename for s in info.siblings or []]
        if any(f.endswith(".safetensors") for f in files):
            ignore.append("*.bin")  # the same weights twice: keep the safetensors
        t0 = time.monotonic()
        path = snapshot_download(MODEL_ID, ignore_patterns=ignore, etag_timeout=ETAG_TIMEOUT)
        return f"{MODEL_ID} downloaded to {path} in {time.monotonic() - t0:.1f} s"

    return with_retries(MODEL_ID, download, (GatedRepoError, RepositoryNotFoundError))

def fetch_files():
    """The server's model files into MODEL_DIR (a volume the server mounts where its command reads)."""
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, RepositoryNotFoundError

    what = f"{MODEL_REPO}:{MODEL_FILE}" if MODEL_FILE else f"{MODEL_REPO} ({','.join(MODEL_PATTERNS) or 'all files'})"
    done = os.path.join(MODEL_DIR, DONE)
    try:
        with open(done) as fh:
            if fh.read().strip() == what:
                return f"{what} already in {MODEL_DIR}; nothing to download"
    except OSError:
        pass
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise SystemExit(f"fetch: {what} is not in {MODEL_DIR} and HF_HUB_OFFLINE=1 forbids the download")

    def download():
        t0 = time.monotonic()
        if MODEL_FILE:  # lands at MODEL_DIR/MODEL_FILE; partial files resume (MODEL_DIR/.cache)
            hf_hub_download(MODEL_REPO, MODEL_FILE, local_dir=MODEL_DIR, etag_timeout=ETAG_TIMEOUT)
        else:
            snapshot_download(MODEL_REPO, local_dir=MODEL_DIR, allow_patterns=MODEL_PATTERNS or None,
                              etag_timeout=ETAG_TIMEOUT)
        tmp = f"{done}.tmp"
        with open(tmp, "w") as fh:
            fh.write(what + "\n")
        os.replace(tmp, done)
        return f"{what} downloaded to {MODEL_DIR} in {time.monotonic() - t0:.1f} s"

    return with_retries(what, download, (GatedRepoError, RepositoryNotFoundError, EntryNotFoundError))

def with_retries(what, download, fatal):
    """download() until it works, with backoff; errors that another try cannot fix end it at once."""
    last = None
    for attempt in range(1, RETRIES + 1):
        try:
            return download()
        except fatal as exc:
            raise SystemExit(f"fetch: {what}: {type(exc).__name__}: {str(exc).splitlines()[0]} "
                             "(a gated model needs HF_TOKEN; check the id and file name)") from None
        except Exception as exc:  # network, 5xx, timeouts: partial files resume on the next try
            last = exc
            if attempt < RETRIES:
                wait = min(60, 2 ** attempt)
                say(f"attempt {attempt}/{RETRIES} failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]});"
                    f" retrying in {wait} s")
                time.sleep(wait)
    raise SystemExit(f"fetch: {what}: giving up after {RETRIES} attempts: {type(last).__name__}: "
                     f"{str(last).splitlines()[0][:300]}")

def main():
    if MODEL_DIR:
        say(fetch_files())
        return 0
    if MODEL_SOURCE != "auto":
        say(f"MODEL_SOURCE={MODEL_SOURCE}: nothing to fetch")
        return 0
    say(fetch_torchvision() if TORCHVISION_NAME else fetch_hub())
    return 0

if __name__ == "__main__":
    sys.exit(main())
