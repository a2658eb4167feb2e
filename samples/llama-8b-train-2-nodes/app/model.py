"""Model loading for the code dlgen 0.1.0 generated. Edit load() and predict() freely.

MODEL_SOURCE chooses what is loaded:
  auto (default)   the model named by MODEL_ID, with the library its task needs
  synthetic        random weights of DLGEN_SYNTHETIC_MB megabytes, loaded after
                   DLGEN_SYNTHETIC_DELAY_S seconds, each request taking DLGEN_SYNTHETIC_PREDICT_S
                   (for smoke and load tests on hosts without the weights)
  module:function  your own loader, called as function(model_id=..., dtype=..., device=...)

DLGEN_GPUS is the bundle's GPU count (the container is started with that many). Above 1 the
model is placed over all of them with device_map="auto" (accelerate), and the memory check adds
up their free memory; with 1 it goes to one GPU and only that GPU's free memory counts.
"""
import importlib
import logging
import os
import time

MODEL_ID = os.environ.get("MODEL_ID", "meta-llama/Llama-3.1-8B-Instruct")
MODEL_DTYPE = os.environ.get("MODEL_DTYPE", "bf16")
WEIGHTS_GB = float(os.environ.get("MODEL_WEIGHTS_GB", "16.06"))
TASK = "llm"
TORCHVISION_NAME = ""
MODEL_SOURCE = os.environ.get("MODEL_SOURCE", "auto")
GPU_COUNT = int(os.environ.get("DLGEN_GPUS", "1") or "1")
# The most tokens one request may ask to generate: an unbounded max_new_tokens holds a GPU for minutes.
MAX_NEW_TOKENS = int(os.environ.get("DLGEN_MAX_NEW_TOKENS", "1024"))
# Serving needs up to ~20 % more GPU memory than the weights (Accelerate docs, `accelerate estimate-memory`: up to 20 % more for inference).
GPU_MEMORY_HEADROOM = 1.2
TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "fp8": "float8_e4m3fn",
                "int8": "int8", "int4": "int4"}

log = logging.getLogger("model")

class Loaded:
    """What load() returns: the module plus whatever predict() needs."""

    def __init__(self, module, device, processor=None, pipeline=None):
        self.module = module
        self.device = device
        self.processor = processor
        self.pipeline = pipeline

def pick_device(torch):
    wanted = os.environ.get("DLGEN_DEVICE", "auto")
    if wanted != "auto":
        return wanted
    if torch.cuda.is_available():
        seen = torch.cuda.device_count()
        if seen < GPU_COUNT:
            raise RuntimeError(f"the bundle uses {GPU_COUNT} GPUs (DLGEN_GPUS) but the container sees {seen}: "
                               f"start it with --gpus {GPU_COUNT}")
        return "cuda"
    log.warning("no CUDA device visible (was the container started with --gpus?); running on CPU")
    return "cpu"

def check_gpu_memory(torch, device):
    """Fail fast, with the numbers, when the weights cannot fit in free GPU memory."""
    if not str(device).startswith("cuda") or MODEL_SOURCE == "synthetic":
        return
    need = WEIGHTS_GB * GPU_MEMORY_HEADROOM * 1e9
    used = range(GPU_COUNT) if GPU_COUNT > 1 else [torch.cuda.current_device()]  # where placement() puts it
    free = sum(torch.cuda.mem_get_info(i)[0] for i in used)
    log.info("GPU memory: %.1f GB free on %d device(s), %.1f GB needed", free / 1e9, len(used), need / 1e9)
    if free < need:
        raise MemoryError(
            f"{MODEL_ID} needs ~{need / 1e9:.1f} GB of GPU memory ({WEIGHTS_GB:.1f} GB weights + 20 %), "
            f"only {free / 1e9:.1f} GB free: use more GPUs, a smaller dtype or a quantised checkpoint")

def placement(device):
    """from_pretrained's device_map: spread over the GPUs when the bundle has several, else one device."""
    where = "auto" if GPU_COUNT > 1 else device
    log.info("placing the model with device_map=%s (DLGEN_GPUS=%d)", where, GPU_COUNT)
    return where

def _synthetic(torch, device):
    delay = float(os.environ.get("DLGEN_SYNTHETIC_DELAY_S", "0"))
    megabytes = float(os.environ.get("DLGEN_SYNTHETIC_MB", "16"))
    if delay:
        log.info("synthetic load: waiting %.1f s", delay)
        time.sleep(delay)
    width = 512
    layers = max(1, int(megabytes * 1e6 / (width * width * 4)))
    module = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)]).to(device)
    return Loaded(module.eval(), device)

def load(device):
    import torch

    dtype = getattr(torch, TORCH_DTYPES.get(MODEL_DTYPE, "float32"), torch.float32)
    if MODEL_SOURCE == "synthetic":
        return _synthetic(torch, device)
    if ":" in MODEL_SOURCE:
        module_name, func = MODEL_SOURCE.split(":", 1)
        return getattr(importlib.import_module(module_name), func)(model_id=MODEL_ID, dtype=dtype, device=device)
    check_gpu_memory(torch, device)
    if TORCHVISION_NAME:
        import torchvision

        module = torchvision.models.get_model(TORCHVISION_NAME, weights="DEFAULT")
        return Loaded(module.to(device).eval(), device)
    if TASK == "diffusion":
        import diffusers

        pipe = diffusers.DiffusionPipeline.from_pretrained(MODEL_ID, torch_dtype=dtype).to(device)
        return Loaded(None, device, pipeline=pipe)
    import transformers

    if TASK == "speech":
        pipe = transformers.pipeline("automatic-speech-recognition", model=MODEL_ID, torch_dtype=dtype,
                                     device=device)
        return Loaded(pipe.model, device, pipeline=pipe)
    if TASK == "llm":
        tok = transformers.AutoTokenizer.from_pretrained(MODEL_ID)
        module = transformers.AutoModelForCausalLM.from_pretrained(MODEL_ID, torch_dtype=dtype,
                                                                   device_map=placement(device))
        return Loaded(module.eval(), module.device, processor=tok)  # inputs go to the first layer's device
    tok = transformers.AutoTokenizer.from_pretrained(MODEL_ID)
    module = transformers.AutoModel.from_pretrained(MODEL_ID, torch_dtype=dtype, device_map=placement(device))
    return Loaded(module.eval(), module.device, processor=tok)

def predict(loaded, payload):
    """One request. payload is the parsed JSON body; the return value is sent back as JSON."""
    import torch

    if MODEL_SOURCE == "synthetic":   # DLGEN_SYNTHETIC_PREDICT_S: a slow request, for load tests
        time.sleep(float(os.environ.get("DLGEN_SYNTHETIC_PREDICT_S", "0")))

    with torch.inference_mode():
        if loaded.pipeline is not None and TASK == "speech":
            return {"text": loaded.pipeline(payload["audio"])["text"]}
        if loaded.processor is not None and TASK == "llm":
            wanted = int(payload.get("max_new_tokens", 64))
            if not 1 <= wanted <= MAX_NEW_TOKENS:
                raise ValueError(f"max_new_tokens must be 1-{MAX_NEW_TOKENS} (DLGEN_MAX_NEW_TOKENS), not {wanted}")
            ids = loaded.processor(payload.get("prompt", ""), return_tensors="pt").to(loaded.device)
            out = loaded.module.generate(**ids, max_new_tokens=wanted)
            return {"text": loaded.processor.decode(out[0], skip_special_tokens=True)}
        if loaded.processor is not None:
            batch = loaded.processor(payload.get("texts", []), padding=True, truncation=True,
                                     return_tensors="pt").to(loaded.device)
            hidden = loaded.module(**batch).last_hidden_state[:, 0]
            return {"embeddings": torch.nn.functional.normalize(hidden, dim=-1).tolist()}
        x = torch.tensor(payload["inputs"], dtype=torch.float32, device=loaded.device)
        return {"outputs": loaded.module(x).tolist()}

def warmup(loaded):
    """One small forward pass so the first request does not pay for kernel selection."""
    import torch

    if isinstance(loaded.module, torch.nn.Sequential):
        with torch.inference_mode():
            loaded.module(torch.zeros(1, loaded.module[0].in_features, device=loaded.device))

def load_and_warm():
    """Import torch, pick the device, load and warm the model: what /ready waits for."""
    import torch

    device = pick_device(torch)
    t0 = time.monotonic()
    loaded = load(device)
    warmup(loaded)
    log.info("model %s ready on %s after %.1f s", MODEL_ID, device, time.monotonic() - t0)
    return loaded
