"""`dlgen new . --kind dev` in a researcher's project: their requirements installed with torch held
at the base image's, extra wheel sources (--find-links/--extra-index-url) whose CUDA is checked
against the base image as DLG021 checks it, their files never overwritten."""

import hashlib

import pytest

from dlgen import matrix

DGL_CU121 = "https://wheels.example/wheels/torch-2.4/cu121/repo.html"   # dgl's find-links page layout


def make_code(path):
    path.mkdir(parents=True)
    files = {"train.py": "print('train')\n", "requirements.txt": "geopandas==1.0.1\ndgl==2.4.0\n",
             "README.md": "# my research\n"}
    for name, text in files.items():
        (path / name).write_text(text)
    return {n: hashlib.sha256((path / n).read_bytes()).hexdigest() for n in files}


def test_dev_in_a_project_installs_its_requirements_beside_its_files(dlgen, tmp_path):
    code = tmp_path / "code"
    before = make_code(code)
    proc = dlgen("new", str(code), "--kind", "dev", "--find-links", DGL_CU121)
    assert proc.returncode == 0, proc.stderr
    after = {n: hashlib.sha256((code / n).read_bytes()).hexdigest() for n in before}
    assert after == before, "the project's files are byte-identical"
    assert (code / "DEPLOY.md").is_file() and (code / "requirements-dlgen.txt").is_file()
    df = (code / "Dockerfile").read_text()
    assert "-r /tmp/requirements/requirements.txt" in df and "constraints.txt" in df
    assert f"--find-links {DGL_CU121}" in df
    # cu121 wheels on the CUDA 12.8 base: a minor difference, said beside the RUN (and in the note)
    comments = " ".join(line[2:] for line in df.splitlines() if line.startswith("# "))
    assert "CUDA 12.1 on this CUDA 12.8 base" in comments and "CUDA 12.1" in proc.stdout + proc.stderr
    assert dlgen("lint", str(code), "--failure-threshold", "warning").returncode == 0


def test_a_wheel_source_for_another_cuda_major_is_refused(dlgen, tmp_path):
    proc = dlgen("new", str(tmp_path / "b"), "--kind", "dev",
                 "--extra-index-url", "https://wheels.example/whl/cu118")
    assert proc.returncode == 2 and "CUDA 11.8 on a CUDA 12.8" in proc.stderr and "--cuda 11.8" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "b").exists()
    # what the message proposes works: the same source on a CUDA 11.8 base
    ok = dlgen("new", str(tmp_path / "c"), "--kind", "dev", "--cuda", "11.8",
               "--extra-index-url", "https://wheels.example/whl/cu118")
    assert ok.returncode == 0, ok.stderr
    df = (tmp_path / "c" / "Dockerfile").read_text()
    assert "cuda11.8" in df and "--extra-index-url https://wheels.example/whl/cu118" in df
    assert "ignore=DLG021" not in df
    assert dlgen("lint", str(tmp_path / "c"), "--failure-threshold", "warning").returncode == 0


@pytest.mark.parametrize("args, says", [
    (["--server", "vllm", "--model", "llama-8b", "--find-links", "https://w.example/cu128/"], "installs no Python"),
    (["--kind", "dev", "--find-links", "https://w.example/a b"], "not a URL"),
    (["--kind", "dev", "--extra-index-url", "ftp://w.example/simple"], "not a URL"),
])
def test_bad_wheel_sources_are_one_line(dlgen, tmp_path, args, says):
    proc = dlgen("new", str(tmp_path / "x"), *args)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_the_wheel_cuda_check_is_the_rules(dlgen, tmp_path):
    """The generator and DLG021 read a wheel source's CUDA with the same function: a Dockerfile
    carrying the refused source is what DLG021 reports."""
    clashes = matrix.wheel_cuda_clashes("--extra-index-url https://wheels.example/whl/cu118", "12.8")
    assert [(c.wheel, c.major) for c in clashes] == [("11.8", True)]
    assert matrix.wheel_cuda_clashes(f"--find-links {DGL_CU121}", "12.8")[0].major is False
    assert matrix.wheel_cuda_clashes("--extra-index-url https://wheels.example/whl/cu128", "12.8") == []
    df = tmp_path / "Dockerfile"
    df.write_text("FROM pytorch/pytorch:2.10.0-cuda12.8-cudnn9-devel\n"
                  "RUN pip install --no-cache-dir --extra-index-url https://wheels.example/whl/cu118 dgl\n"
                  'CMD ["bash"]\n')
    proc = dlgen("lint", str(df))
    assert proc.returncode == 1 and "DLG021" in proc.stdout and "CUDA 11.8 on a CUDA 12.8" in proc.stdout


def test_dev_in_an_empty_folder_is_a_plain_bundle(dlgen, tmp_path):
    assert dlgen("new", str(tmp_path / "d"), "--kind", "dev").returncode == 0
    assert (tmp_path / "d" / "README.md").is_file() and (tmp_path / "d" / "requirements.txt").is_file()
