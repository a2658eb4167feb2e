"""Rule pages, written from the rule files themselves: `dlgen explain DLGxxx` prints one, and
docs/rules.md (the generated rule reference) holds them all.

    python -m dlgen.ruledocs            # rewrite docs/rules.md
    python -m dlgen.ruledocs --check    # exit 1 when docs/rules.md is out of date
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path


def _sections(rule) -> dict[str, str]:
    """'What it does' / 'Why is this bad' / 'Use instead' paragraphs of a rule's docstring."""
    doc = (rule.module.__doc__ or "").strip()
    body = doc.split("\n", 1)[1] if "\n" in doc else ""
    parts = re.split(r"^(What it does|Why is this bad|Use instead):", body, flags=re.MULTILINE)
    out = {}
    for i in range(1, len(parts) - 1, 2):
        out[parts[i]] = textwrap.dedent(parts[i + 1]).strip()
    return out


def _example_block(text: str, markdown: bool, lang: str) -> str:
    text = text.rstrip("\n")
    if markdown:   # a fence longer than any run of backticks inside (a Markdown example holds fences)
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", text)), default=0))
        return f"{fence}{lang}\n{text}\n{fence}"
    return textwrap.indent(text, "    ")


def page(rule, markdown: bool = True) -> str:
    from dlgen.lint import example_kind

    sec = _sections(rule)
    fixable = ("no" if not rule.fixable else "yes, safe: `dlgen lint --fix` repairs it" if not rule.unsafe_fix
               else "yes, unsafe: `dlgen lint --fix --unsafe-fixes` repairs it")
    targets = {"dockerfile": "Dockerfile",
               "kubernetes": "Kubernetes container (a pod template's, in any workload or CRD)"}
    target = targets.get(rule.target, "run configuration (docker run line or compose service)")
    also = {"kubernetes": ", and Kubernetes containers", "run": ", and docker run lines and compose services"}
    for other in rule.carried:
        target += also[other]
    out = []
    if markdown:
        out.append(f"## {rule.id} {rule.name}\n")
        out.append(f"Severity: **{rule.severity}** · judges: {target} · fix: {fixable}\n")
    else:
        out.append(f"{rule.id} {rule.name} ({rule.severity}; judges a {target}; fix: {fixable})\n")
    for title in ("What it does", "Why is this bad", "Use instead"):
        if title in sec:
            text = " ".join(sec[title].split()) if title != "Use instead" or "\n    " not in sec[title] \
                else sec[title]
            out.append(f"{'**' + title + '**' if markdown else title}: {text}\n")
    if rule.fixable:   # ruff's "Fix safety": what the fix may change, and so whether --fix applies it
        title = "Fix safety"
        out.append(f"{'**' + title + '**' if markdown else title}: {rule.fix_safety}: {rule.fix_why}\n")
    shown = [("Fails", rule.module.FAIL), ("Passes", rule.module.PASS)]
    where = {"kubernetes": "in Kubernetes", "run": "in docker run and compose"}
    for other in rule.carried:
        shown += [(f"Fails {where[other]}", getattr(rule.module, f"{other.upper()}_FAIL")),
                  (f"Passes {where[other]}", getattr(rule.module, f"{other.upper()}_PASS"))]
    for label, examples in shown:
        out.append(f"{'**' + label + '**' if markdown else label}:\n")
        for ex in examples:
            carried = next((t for t, w in where.items() if label.endswith(w)), None)
            kind = "kubernetes" if carried == "kubernetes" else example_kind(rule, ex, carried)
            lang = {"dockerfile": "dockerfile", "compose": "yaml", "markdown": "md", "kubernetes": "yaml"}.get(kind,
                                                                                                      "sh")
            out.append(_example_block(ex, markdown, lang) + "\n")
    return "\n".join(out).rstrip() + "\n"


def reference(rules) -> str:
    head = ["# dlgen lint rules", "",
            "Generated from the rule files in `rules/` by `python -m dlgen.ruledocs`; do not edit by hand.",
            "`dlgen explain DLGxxx` prints the same page. Every example below is run as a test.", "",
            "| id | name | severity | fix |", "|---|---|---|---|"]
    for r in rules:
        head.append(f"| [{r.id}](#{r.id.lower()}-{r.name}) | {r.name} | {r.severity} | "
                    f"{r.fix_safety if r.fixable else ''} |")
    return "\n".join(head) + "\n\n" + "\n".join(page(r) for r in rules)


def main(argv: list[str] | None = None) -> int:
    from dlgen.lint import load_rules

    argv = sys.argv[1:] if argv is None else argv
    target = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    text = reference(load_rules())
    if "--check" in argv:
        if not target.is_file() or target.read_text() != text:
            print(f"{target} is out of date: run python -m dlgen.ruledocs", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
