"""The data files are checked when loaded (issue 26): a misspelt or mistyped key in a preset,
model, image or GPU entry (a site's own file through DLGEN_DATA_DIR) is one line naming the file,
the entry and the key, exit 2, for `dlgen new` and `dlgen lint` alike."""

import pytest

from dlgen import dataschema, reference
from tests.conftest import ROOT

CASES = [
    ("servers", "    parallel:", "    paralel:", "servers.python: unknown key 'paralel' (did you mean 'parallel'?)"),
    ("servers", "    readiness: /health\n", "    readiness: 5\n", "servers.vllm.readiness: must be a string or null"),
    ("models", "    num_attention_heads: 32\n", "    num_attention_head: 32\n", "unknown key 'num_attention_head'"),
    ("gpus", "memory_gb: 80,", "memory_gb: eighty,", "gpus.h100.memory_gb: must be a number"),
    ("images", "    source:", "    sourcee:", "unknown key 'sourcee'"),
]


@pytest.mark.parametrize("name", list(dataschema.FILES))
def test_the_shipped_files_pass_their_schema(name):
    reference.load.cache_clear()
    reference.load(name)


@pytest.mark.parametrize("name,old,new,needle", CASES)
@pytest.mark.parametrize("command", [["new", "{tmp}/b", "--model", "llama-8b", "--server", "tgi"],
                                     ["lint", "{root}/samples/llama-70b-vllm/Dockerfile"]])
def test_a_misspelt_key_is_one_line_naming_file_entry_and_key(dlgen, tmp_path, name, old, new, needle, command):
    shipped = (ROOT / "dlgen" / "data" / f"{name}.yaml").read_text()
    assert old in shipped, "the case edits a line the shipped file has"
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{name}.yaml").write_text(shipped.replace(old, new, 1))
    reference.load.cache_clear()
    try:
        args = [a.format(tmp=tmp_path, root=ROOT) for a in command]
        proc = dlgen(*args, env={**__import__("os").environ, "DLGEN_DATA_DIR": str(site)})
    finally:
        reference.load.cache_clear()
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert str(site / f"{name}.yaml") in lines[0] and needle in lines[0], lines[0]
    assert "internal error" not in lines[0] and "rule " not in lines[0]


def test_a_misspelt_workload_kind_key_is_one_line(dlgen, tmp_path):
    """Workload kinds are data (dlgen/data/kinds.yaml): a site's file with a typo is refused by name."""
    shipped = (ROOT / "dlgen" / "data" / "kinds.yaml").read_text()
    site = tmp_path / "site"
    site.mkdir()
    (site / "kinds.yaml").write_text(shipped.replace("    one_gpu: false\n", "    one_gpus: false\n", 1))
    reference.load.cache_clear()
    try:
        proc = dlgen("new", str(tmp_path / "b"), "--params", "0.05B",
                     env={**__import__("os").environ, "DLGEN_DATA_DIR": str(site)})
    finally:
        reference.load.cache_clear()
    assert proc.returncode == 2 and "kinds.serve: unknown key 'one_gpus'" in proc.stderr
    assert str(site / "kinds.yaml") in proc.stderr and not (tmp_path / "b").exists()


def test_a_kind_changed_in_data_changes_the_bundle(tmp_path, monkeypatch):
    """What a kind gets is read from the data, not from code: a site that restarts servers always
    gets that policy in every target."""
    from dlgen import bundle
    from dlgen import spec as spec_mod

    shipped = (ROOT / "dlgen" / "data" / "kinds.yaml").read_text()
    site = tmp_path / "site"
    site.mkdir()
    (site / "kinds.yaml").write_text(shipped.replace("    restart: unless-stopped\n", "    restart: always\n", 1))
    monkeypatch.setenv("DLGEN_DATA_DIR", str(site))
    reference.load.cache_clear()
    try:
        spec = spec_mod.build(params="0.05B", name="tiny")
        files = bundle.render(spec, "t")
    finally:
        monkeypatch.delenv("DLGEN_DATA_DIR")
        reference.load.cache_clear()
    assert spec.restart == "always" and "--restart always" in files["run.sh"]
    assert "restart: always" in files["compose.yaml"]
