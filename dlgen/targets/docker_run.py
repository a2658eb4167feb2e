"""run.sh: the bundle with plain ``docker run`` (the fetch phase first, then the server), and the
``docker`` target of ``dlgen verify``, which starts the container run.sh describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlgen.spec import DeploySpec
from dlgen.targets import Target, VerifyOptions, VerifyResult, register


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    fetch = spec.fetch_run_spec()
    return {"docker_run": spec.run_spec().docker_run(quote_image_var="IMAGE"),
            "fetch_run": fetch.docker_run(quote_image_var="FETCH_IMAGE" if spec.fetch_image else "IMAGE")
            if fetch else ""}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    return {"run.sh": "run.sh.j2"}


def _verify(bundle: Path, o: VerifyOptions) -> VerifyResult:
    from dlgen import verify

    return VerifyResult.from_report(verify.verify(bundle, cpu=o.cpu, keep=o.keep, timeout_s=o.timeout_s, env=o.env,
                                                  volumes_of=o.volumes_of, progress=o.progress, measure=o.measure))


TARGET = register(Target(key="docker", title="docker run (run.sh)", files=_files, context=_context,
                         verify=_verify, owns=("run.sh",)))
