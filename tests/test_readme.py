from tests.conftest import ROOT


def test_readme_timing_table_is_current(dlgen):
    table = dlgen("models", "--format", "markdown").stdout.strip()
    assert table in (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci


def test_readme_counts_the_rules_there_are():
    import re

    count = len(list((ROOT / "rules").glob("dlg*.py")))
    stated = re.search(r"(\d+) rules\s*\n?\s*\(DLG", (ROOT / "README.md").read_text())
    assert stated and int(stated.group(1)) == count, (stated and stated.group(1), count)
