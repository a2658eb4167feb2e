import importlib.util

from tests.conftest import ROOT


def load_regen():
    spec = importlib.util.spec_from_file_location("regen_samples", ROOT / "scripts" / "regen_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_samples_match_templates():
    regen = load_regen()
    drift = [str(p) for p, text in regen.render_all().items()
             if not (ROOT / "samples" / p).is_file() or (ROOT / "samples" / p).read_text(encoding="utf-8") != text]
    assert not drift, f"samples drifted from templates (python scripts/regen_samples.py): {drift[:5]}"


def test_sample_command_line_matches_cli(tmp_path, dlgen):
    proc = dlgen("new", tmp_path / "b", "--model", "llama-8b")
    assert proc.returncode == 0
    for name in ("Dockerfile", "run.sh", "compose.yaml", "k8s.yaml", "app/server.py"):
        assert (tmp_path / "b" / name).read_text() == (ROOT / "samples" / "llama-8b-serve" / name).read_text(), name
