"""A local stand-in for a Hugging Face hub endpoint (what HF_ENDPOINT points at), serving model
repositories from a directory: enough of the hub's HTTP interface for huggingface_hub's
model_info, snapshot_download and hf_hub_download (repository info with its file list; HEAD and
GET of /<repo>/resolve/<revision>/<file> with the commit, ETag and size headers, Range requests).

``mode`` "ok" serves; "error" answers 500 to everything; "hang" accepts and never answers.
``requests`` counts the requests, so a test can tell retries and offline restarts apart."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_tiny_llama(where: Path) -> Path:
    """A Llama model with random weights and a word-level tokenizer, in the hub layout (config.json,
    model.safetensors, tokenizer files): a few hundred kB."""
    import transformers

    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    transformers.LlamaForCausalLM(config).save_pretrained(where, safe_serialization=True)
    return save_tiny_tokenizer(where)


def save_tiny_tokenizer(where: Path) -> Path:
    """A word-level tokenizer over a few words, saved in the hub layout (no hub needed)."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>", "hello", "world"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                         eos_token="</s>").save_pretrained(where)
    return where


class HubStub:
    def __init__(self, repos: dict[str, Path], host: str = "127.0.0.1", port: int = 0, mode: str = "ok"):
        self.repos, self.mode, self.requests = repos, mode, 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                stub._serve(self, body=False)

            def do_GET(self):
                stub._serve(self, body=True)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ the hub's interface
    def _serve(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        self.requests += 1
        if self.mode == "hang":
            time.sleep(3600)
            return
        if self.mode == "error":
            return self._send(h, 500, b'{"error": "stub: internal error"}', body)
        path = unquote(urlparse(h.path).path)
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/"):]
            repo = rest.split("/revision/")[0].rstrip("/")
            if repo not in self.repos:
                return self._send(h, 404, b'{"error": "Repository not found"}', body,
                                  {"X-Error-Code": "RepoNotFound"})
            files = sorted(p.relative_to(self.repos[repo]).as_posix() for p in self.repos[repo].rglob("*")
                           if p.is_file())
            info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "gated": False,
                    "siblings": [{"rfilename": f} for f in files]}
            return self._send(h, 200, json.dumps(info).encode(), body, {"Content-Type": "application/json"})
        parts = path.lstrip("/").split("/")
        if "resolve" in parts:
            i = parts.index("resolve")
            repo, filename = "/".join(parts[:i]), "/".join(parts[i + 2:])
            f = self.repos.get(repo, Path("/nonexistent")) / filename
            if not f.is_file():
                return self._send(h, 404, b"Entry not found", body, {"X-Error-Code": "EntryNotFound"})
            data = f.read_bytes()
            etag = hashlib.sha256(data).hexdigest()
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            rng = h.headers.get("Range")
            if rng and rng.startswith("bytes=") and body:
                start = int(rng[len("bytes="):].split("-")[0] or 0)
                return self._send(h, 206, data[start:], body, {**headers, "Content-Range":
                                                                f"bytes {start}-{len(data) - 1}/{len(data)}"})
            return self._send(h, 200, data, body, headers)
        return self._send(h, 404, b"not found", body)

    @staticmethod
    def _send(h, status: int, data: bytes, body: bool, headers: dict | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if body:
            h.wfile.write(data)
