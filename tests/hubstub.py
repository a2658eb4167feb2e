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
    def __init__(self, repos: dict[str, Path], host: str = "127.0.0.1", port: int = 0, mode: str = "ok",
                 gated: set[str] | frozenset[str] = frozenset(), token: str = "hf_test_token"):
        self.repos, self.mode, self.requests = repos, mode, 0
        # gated repositories: model_info answers everyone (as the Hub does); files need the token of an
        # account that accepted the license, else 401 with X-Error-Code GatedRepo
        self.gated, self.token = set(gated), token
        self.paths: list[str] = []
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
            root = self.repos[repo]
            files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
            # files_metadata=True (?blobs=true): each file's size, and the LFS pointer's for weights
            siblings = [{"rfilename": f, "size": (root / f).stat().st_size,
                         **({"lfs": {"size": (root / f).stat().st_size, "sha256": "0" * 64, "pointerSize": 134}}
                            if f.endswith(".safetensors") else {})} for f in files]
            info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False,
                    "gated": "manual" if repo in self.gated else False, "siblings": siblings}
            return self._send(h, 200, json.dumps(info).encode(), body, {"Content-Type": "application/json"})
        parts = path.lstrip("/").split("/")
        if "resolve" in parts:
            i = parts.index("resolve")
            repo, filename = "/".join(parts[:i]), "/".join(parts[i + 2:])
            f = self.repos.get(repo, Path("/nonexistent")) / filename
            if repo in self.gated and h.headers.get("Authorization") != f"Bearer {self.token}":
                return self._send(h, 401, b"Access to this model is restricted", body,
                                  {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model is restricted."})
            if not f.is_file():
                return self._send(h, 404, b"Entry not found", body, {"X-Error-Code": "EntryNotFound"})
            size = f.stat().st_size
            # the ETag of a weight file is its identity, not its bytes (which may be a 100 GB hole)
            etag = hashlib.sha256(f.read_bytes() if size < 2**24 else f"{repo}/{filename}/{size}".encode()).hexdigest()
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            self.paths.append(filename)
            rng = h.headers.get("Range")
            if rng and rng.startswith("bytes="):
                first, _, last = rng[len("bytes="):].partition("-")
                start, end = int(first or 0), min(int(last) if last else size - 1, size - 1)
                with open(f, "rb") as fh:
                    fh.seek(start)
                    data = fh.read(max(0, end - start + 1)) if body else b""
                return self._send(h, 206, data, body, {**headers, "Content-Range": f"bytes {start}-{end}/{size}"},
                                  length=end - start + 1)
            return self._send(h, 200, f.read_bytes() if body else b"", body, headers, length=size)
        return self._send(h, 404, b"not found", body)

    @staticmethod
    def _send(h, status: int, data: bytes, body: bool, headers: dict | None = None, length: int | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data) if length is None else length))
        h.end_headers()
        if body:
            h.wfile.write(data)
