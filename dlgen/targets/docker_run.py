"""run.sh: the bundle with plain ``docker run`` (the fetch phase first, then the server), and the
``docker`` target of ``dlgen verify``, which starts the container run.sh describes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlgen.errors import DlgenError
from dlgen.spec import DeploySpec, NodeWords
from dlgen.targets import Target, VerifyOptions, VerifyResult, register

# How run.sh names a node's own values: shell variables it sets from its argument and LEADER_ADDR.
NODE_WORDS = NodeWords(rank="${NODE_RANK}", leader="${LEADER_HOST}", group_port="${GROUP_PORT}",
                       is_host="${IS_HOST}", join_timeout_s="${JOIN_TIMEOUT_S}")


def node_words(spec: DeploySpec) -> NodeWords:
    """run.sh's words; the leader's API on the host's loopback unless --publish-all (host network)."""
    return replace(NODE_WORDS, api_host=None if spec.publish_all else "127.0.0.1")


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    fetch = spec.fetch_run_spec()
    if spec.group:
        runs = spec.node_run_specs(node_words(spec))
        return {"docker_run": "", "node_runs": {role: run.docker_run(quote_image_var="IMAGE")
                                                for role, run in runs.items()},
                "fetch_run": fetch.docker_run(quote_image_var="FETCH_IMAGE" if spec.fetch_image else "IMAGE")
                if fetch else ""}
    return {"node_runs": {}, "docker_run": spec.run_spec().docker_run(quote_image_var="IMAGE"),
            "fetch_run": fetch.docker_run(quote_image_var="FETCH_IMAGE" if spec.fetch_image else "IMAGE")
            if fetch else ""}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    return {"run.sh": "run.sh.j2"}


def _verify(bundle: Path, o: VerifyOptions) -> VerifyResult:
    from dlgen import verify, verify_group

    nodes = verify_group.group_size(bundle)
    if nodes:   # one group over several nodes: every node as its own container
        if o.volumes_of is not None or o.measure:
            raise DlgenError("--volumes-of and --write-timings time one container, not a group of nodes",
                             "drop them for this bundle")
        result = verify_group.verify_group(bundle, nodes, cpu=o.cpu, keep=o.keep, timeout_s=o.timeout_s,
                                           progress=o.progress, env=o.env)
        result["bundle"] = str(bundle)
        return VerifyResult.from_report(result)

    return VerifyResult.from_report(verify.verify(bundle, cpu=o.cpu, keep=o.keep, timeout_s=o.timeout_s, env=o.env,
                                                  volumes_of=o.volumes_of, progress=o.progress, measure=o.measure))


TARGET = register(Target(key="docker", title="docker run (run.sh)", files=_files, context=_context,
                         verify=_verify, owns=("run.sh",)))
