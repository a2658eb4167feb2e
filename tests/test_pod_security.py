"""Every generated Kubernetes manifest passes the Pod Security Standard "restricted", checked
rule by rule as the standard publishes them (kubernetes.io/docs/concepts/security/
pod-security-standards, "Restricted" and the "Baseline" rules it includes), each violation listed."""

from ruamel.yaml import YAML

from dlgen import bundle, reference
from dlgen import spec as spec_mod
from tests.test_new_bundles import needs

yaml = YAML(typ="safe", pure=True)
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret"}


def restricted_violations(pod: dict) -> list[str]:
    """The rules of "restricted" a pod spec breaks (empty: it passes)."""
    out = []
    psc = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(f"pod: {key}")
    for v in pod.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            out.append(f"volume {v['name']}: type {sorted(kinds - ALLOWED_VOLUMES)}")
    if (psc.get("seccompProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
        out.append("pod: seccompProfile")
    if psc.get("runAsUser") == 0:
        out.append("pod: runAsUser 0")
    for c in [*(pod.get("initContainers") or []), *pod["containers"]]:
        sc, name = c.get("securityContext") or {}, c["name"]
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation must be false")
        if not (sc.get("runAsNonRoot") if "runAsNonRoot" in sc else psc.get("runAsNonRoot")):
            out.append(f"{name}: runAsNonRoot must be true")
        if (sc.get("runAsUser") if "runAsUser" in sc else psc.get("runAsUser")) == 0:
            out.append(f"{name}: runAsUser 0")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{name}: capabilities.drop must include ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"{name}: capabilities.add beyond NET_BIND_SERVICE")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            out.append(f"{name}: hostPort")
    return out


def pods(text: str):
    for doc in yaml.load_all(text):
        spec = doc.get("spec") or {}
        if doc["kind"] == "Pod":
            yield doc["metadata"]["name"], spec
        elif "template" in spec:
            yield doc["metadata"]["name"], spec["template"]["spec"]


def test_the_checker_finds_what_restricted_forbids():
    bad = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
           "containers": [{"name": "c", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                           "ports": [{"containerPort": 80, "hostPort": 80}]}]}
    found = restricted_violations(bad)
    for needle in ("hostNetwork", "hostPath", "privileged", "allowPrivilegeEscalation", "runAsNonRoot",
                   "seccompProfile", "drop must include ALL", "capabilities.add", "hostPort"):
        assert any(needle in f for f in found), needle


def test_every_manifest_passes_restricted():
    servers = reference.servers()["servers"]
    cases = [("llama-8b", "serve", s) for s, p in servers.items() if "serve" in p["kinds"]]
    cases += [("llama-8b", "train", None), (None, "notebook", None), (None, "tensorboard", None), (None, "dev", None)]
    checked = 0
    for model, kind, server in cases:
        spec = spec_mod.build(model=model, kind=kind, server=server, **needs(server))
        text = bundle.render(spec, "test")["k8s.yaml"]
        assert "pod-security.kubernetes.io/enforce=restricted" in text
        for name, pod in pods(text):
            assert restricted_violations(pod) == [], (name, restricted_violations(pod))
            checked += 1
        services = [d for d in yaml.load_all(text) if d["kind"] == "Service"]
        assert all(s["spec"]["type"] == "ClusterIP" for s in services)
    assert checked == len(cases)


def test_training_job_keeps_checkpoints_on_the_claim():
    spec = spec_mod.build(model="llama-8b", kind="train")
    docs = list(yaml.load_all(bundle.render(spec, "test")["k8s.yaml"]))
    pod = docs[0]["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/checkpoints"]["name"] == "cache"
    assert {"name": "cache", "persistentVolumeClaim": {"claimName": f"{spec.name}-cache"}} in pod["volumes"]
    assert any(d["kind"] == "PersistentVolumeClaim" for d in docs)
