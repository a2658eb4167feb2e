"""dlgen's commands as a typer app (all but the reading of `dlgen lint`'s options: dlgen.lintcli). Every
bad input ends in one line on stderr and exit code 2."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import click
import typer
import typer.core

from dlgen import __version__
from dlgen.errors import DlgenError

# typer escapes the brackets of "[default: ...]" and "[required]" for rich's markup whenever rich
# is installed, also with rich_markup_mode=None, and plain help then shows the backslashes
# ("\\[default: .]"): dlgen's help is plain click help.
typer.core.HAS_RICH = False

app = typer.Typer(
    name="dlgen",
    help="Dockerfiles and run configurations for PyTorch on GPUs: generate (new, models), lint, verify, "
         "diagnose (doctor, explain).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        typer.echo(f"dlgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")):
    """dlgen: right-by-construction Docker for PyTorch GPU work."""


def new(directory: Path = Path("."), templates: str | None = None, force: bool = False, stdout: bool = False,
        **options: Any):
    """Write a deployment bundle: Dockerfile, .dockerignore, run.sh, compose.yaml, stack.yaml, k8s.yaml,
    README.md and the app."""
    from dlgen import bundle
    from dlgen.newoptions import NewOptions

    made = bundle.new(NewOptions.of(options), None if stdout else directory, templates=templates, force=force)
    spec = made.spec
    if stdout:
        sys.stdout.write(made.files["Dockerfile"])
        return
    for note in [*spec.notes, *made.notes]:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {len(made.written)} files to {directory}/ ({bundle.summary(spec)})")


def _new_signature() -> inspect.Signature:
    """`dlgen new`'s parameters: DIR, then every NewOptions option (one list), then how to write."""
    from dlgen.newoptions import cli_parameters

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("directory", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path,
                                default=typer.Argument(Path("."), metavar="[DIR]", help="Where to write the bundle."))]
    params += [inspect.Parameter(name, keyword, annotation=kind, default=typer.Option(default, *kw["flags"],
                                                                                      help=kw["help"]))
               for name, kind, default, kw in cli_parameters()]
    params += [
        inspect.Parameter("templates", keyword, annotation=str | None,
                          default=typer.Option(None, "--templates", help="Directory of templates overriding blocks.")),
        inspect.Parameter("force", keyword, annotation=bool,
                          default=typer.Option(False, "--force", "-f", help="Overwrite existing files.")),
        inspect.Parameter("stdout", keyword, annotation=bool, default=typer.Option(
            False, "--stdout", help="Print the Dockerfile instead of writing the bundle.")),
    ]
    return inspect.Signature(params)


new.__signature__ = _new_signature()  # type: ignore[attr-defined]
new.__annotations__ = {}   # the signature's types are the ones typer reads
app.command(name="new")(new)


@app.command()
def models(
    server: str | None = typer.Option(None, "--server", "-s", help="Server preset whose timings to show "
                                                                   "(default: the serve kind's)."),
    fmt: str = typer.Option("text", "--format", help="text, markdown or json."),
    docker_version: str | None = typer.Option(None, "--docker-version"),
):
    """The model catalog with sizes and the health timings dlgen would emit."""
    from dlgen import modeltable, reference, timing

    if fmt not in ("text", "markdown", "json"):
        raise DlgenError(f"unknown format {fmt!r}", "use text, markdown or json")
    server = server or reference.servers()["defaults"]["serve"]
    rows = modeltable.timing_table(server, docker_version)
    preset = reference.servers()["servers"][server]
    if fmt == "json":
        import json

        typer.echo(json.dumps(rows, indent=2))
        return
    cols = ["model", "task", "params_b", "dtype", "weights_gb", "gpus", "download_s", "load_s", "start_period_s",
            "start_interval_s", "k8s_startup_budget_s"]
    heads = ["model", "task", "params (B)", "dtype", "weights (GB)", f"GPUs ({rows[0]['gpu_memory_gb']:g} GB)",
             f"download at {timing.NET_GBPS:g} GB/s (s)", "load (s)", "start period (s)", "start interval (s)",
             "k8s startup budget (s)"]
    if fmt == "markdown":
        typer.echo("| " + " | ".join(heads) + " |")
        typer.echo("|" + "---|" * len(heads))
        for r in rows:
            typer.echo("| " + " | ".join(modeltable.cell(r, c) for c in cols) + " |")
        return
    widths = [max(len(h), *(len(modeltable.cell(r, c)) for r in rows)) for h, c in zip(heads, cols, strict=True)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for r in rows:
        cells = (modeltable.cell(r, c).ljust(w) for c, w in zip(cols, widths, strict=True))
        typer.echo("  ".join(cells))
    typer.echo(f"\nserver preset {server}: boot {preset['boot_s']} s + weights / {timing.DISK_GBPS} GB/s + "
               f"warm-up {preset['warmup_s']} s; start period = {timing.MARGIN} x load, rounded up to "
               f"{timing.ROUND_TO_S} s")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []}, add_help_option=False)
def lint(ctx: typer.Context):
    """Lint Dockerfiles, run configurations (docker run lines, compose services) and Kubernetes manifests."""
    from dlgen import lintcli  # its options are read there, with argparse: `dlgen lint --help`

    code = lintcli.main(list(ctx.args))
    if code:
        raise typer.Exit(code)


@app.command()
def explain(
    code: str | None = typer.Argument(None, help="A container exit code (137) or a rule id (DLG012) / name."),
    list_rules: bool = typer.Option(False, "--list", help="List every rule."),
):
    """Explain a container exit code (meaning, causes, checks, changes) or a lint rule (its page)."""
    from dlgen import lint as lint_mod

    if code is not None and code.strip().lstrip("-").isdigit():
        from dlgen import doctor

        digits = code.strip()
        magnitude = digits.lstrip("-").lstrip("0") or "0"
        if len(magnitude) > 3:   # never convert a 5,000-digit string: out of range anyway
            raise DlgenError(f"exit code {digits[:12]}... is outside 0-255", "container exit codes are 0-255")
        number = -int(magnitude) if digits.startswith("-") else int(magnitude)
        typer.echo(doctor.exit_code_page(number), nl=False)
        return
    from dlgen import config as config_mod
    from dlgen import ruledocs

    cfg = config_mod.load(config_mod.find())   # custom rules (rule-dirs) are explained too
    try:
        rules = lint_mod.load_rules(cfg.rule_dirs)
    except lint_mod.RuleLoadError as exc:
        raise DlgenError(str(exc), "fix or remove the rule file (rule-dirs in the config)") from None
    if list_rules or code is None:
        for r in rules:
            typer.echo(f"{r.id}  {r.severity:<7}  {r.name}{f'  (fix: {r.fix_safety})' if r.fixable else ''}")
        return
    key = code.strip()
    rule = next((r for r in rules if r.id.lower() == key.lower() or r.name == key.lower()), None)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(key.upper(), [r.id for r in rules], n=1) or \
            difflib.get_close_matches(key.lower(), [r.name for r in rules], n=1)
        raise DlgenError(f"unknown rule {code!r}",
                         (f"did you mean {close[0]}? " if close else "") + "see `dlgen explain --list`")
    typer.echo(ruledocs.page(rule, markdown=False))


@app.command()
def verify(
    directory: Path | None = typer.Argument(None, help="A bundle written by dlgen new."),
    cpu: bool = typer.Option(False, "--cpu", help="Drop GPU requests (and --ulimit memlock) for a CPU host."),
    keep: bool = typer.Option(False, "--keep", help="Keep the image, container and volumes (`dlgen verify "
                                                    "--clean` removes them later)."),
    clean: bool = typer.Option(False, "--clean", help="Remove what earlier verify runs left on the engine (runs "
                                                      "killed before their clean-up, and --keep runs); nothing else."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for healthy "
                                                                    "(default: start period + 60)."),
    env: list[str] | None = typer.Option(None, "--env", "-e", help="KEY=VALUE added to the container's "
                                            "environment, e.g. MODEL_SOURCE=synthetic (repeatable)."),
    target: str = typer.Option("docker", "--target", help="docker (run.sh's container), compose (docker compose "
                                                          "up) or swarm (docker stack deploy of stack.yaml)."),
    volumes_of: str | None = typer.Option(None, "--volumes-of", help="Use the volumes (the weight cache) of an "
                                                                          "earlier --keep run: its run_id."),
    write_timings: bool = typer.Option(False, "--write-timings", help="Measure the start-up on this host and "
                                       "write it into every file of the bundle (and timings.json)."),
    runs: int = typer.Option(1, "--runs", help="--write-timings: starts to measure (the slowest counts)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="--write-timings: print the diff, write nothing."),
    margin: float | None = typer.Option(None, "--margin", help="--write-timings: start period = margin x "
                                                               "measured load (default 2)."),
    accept_test_timings: bool = typer.Option(False, "--accept-test-timings", help="--write-timings: write a "
                                             "measurement taken with --cpu or synthetic weights into the bundle "
                                             "too (marked as a test); by default only timings.json records it."),
):
    """Build a bundle on a real Docker engine, boot it, time readiness and health, stop it."""
    import json

    from dlgen import verify as verify_mod

    if fmt not in ("text", "json"):
        raise DlgenError(f"unknown format {fmt!r}", "use text or json")
    if clean:
        if directory is not None:
            raise DlgenError("--clean removes every verify leftover and takes no DIR", "run `dlgen verify --clean`")
        gone = verify_mod.clean(verify_mod.client(), include_kept=True, say=verify_mod.progress_to_stderr)
        listed = f": {', '.join(gone)}" if gone else ""
        typer.echo(json.dumps({"removed_runs": gone}) if fmt == "json"
                   else f"removed the leftovers of {len(gone)} verify run(s){listed}")
        return
    if directory is None:
        raise DlgenError("missing DIR", "pass the directory dlgen new wrote, e.g. dlgen verify bundle --cpu")
    if not directory.is_dir():
        raise DlgenError(f"{directory} is not a directory", "pass the directory dlgen new wrote")
    extra = {}
    for item in env or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise DlgenError(f"--env {item!r} is not KEY=VALUE", "write it like --env MODEL_SOURCE=synthetic")
        extra[key.strip()] = value
    from dlgen import targets

    if target not in targets.verifiable():
        raise DlgenError(f"unknown --target {target!r}", f"use {', '.join(targets.verifiable())}")
    if (runs != 1 or dry_run or margin is not None or accept_test_timings) and not write_timings:
        raise DlgenError("--runs, --dry-run, --margin and --accept-test-timings belong to --write-timings",
                         "add --write-timings")
    if write_timings:
        from dlgen import tune

        if keep or volumes_of:
            raise DlgenError("--write-timings starts the bundle afresh each run", "drop --keep/--volumes-of")
        if margin is not None and not (1.0 <= margin <= 10.0):
            raise DlgenError(f"--margin {margin:g} is outside 1-10", "give a margin like 1.5 or 2")
        m = tune.measure(directory, runs=runs, target=target, cpu=cpu, env=extra, timeout_s=timeout,
                         progress=verify_mod.progress_to_stderr)
        made = tune.rewrite(directory, m, margin=margin, dry_run=dry_run, accept_test=accept_test_timings)
        if fmt == "json":
            typer.echo(json.dumps({"load_s": m.load_s, "start_period_s": made.start_period_s,
                                   "previous_start_period_s": made.previous_s, "kept": made.kept,
                                   "real": m.real, "refused": made.refused or None,
                                   "files": sorted(made.changed), "dry_run": dry_run, "runs": m.runs}, indent=2))
        else:
            typer.echo(tune.report(made, dry_run))
        return
    if volumes_of and target != "docker":
        raise DlgenError("--volumes-of works with --target docker", "drop it, or use --target docker")
    chosen = targets.get(target)
    assert chosen is not None and chosen.verify is not None
    result = chosen.verify(directory, targets.VerifyOptions(cpu=cpu, keep=keep, timeout_s=timeout, env=extra,
                                                            volumes_of=volumes_of,
                                                            progress=verify_mod.progress_to_stderr))
    typer.echo(json.dumps(result.report, indent=2) if fmt == "json" else verify_mod.text_report(result.report))
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def doctor(
    container: str | None = typer.Argument(None, help="Container name or id; none: every container that "
                                                          "exited non-zero or is unhealthy."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
):
    """Why did a container die or turn unhealthy: the cause and the change that fixes it."""
    import json

    from dlgen import doctor as doctor_mod

    if fmt not in ("text", "json"):
        raise DlgenError(f"unknown format {fmt!r}", "use text or json")
    found = doctor_mod.doctor(container)
    if fmt == "json":
        typer.echo(json.dumps(found[0] if container else found, indent=2))
    elif not found:
        typer.echo("no exited or unhealthy containers")
    else:
        typer.echo("\n\n".join(doctor_mod.text_report(d) for d in found))
    if any(d["cause"] not in ("none", "stopped") for d in found):
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn bad input into one line and exit code 2."""
    try:
        rv = app(args=argv, prog_name="dlgen", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "dlgen --help", err=True)
        sys.exit(2)
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "dlgen"
        click.echo(f"dlgen: error: {exc.format_message()} (see `{cmd} --help`)", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("dlgen: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"dlgen: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except Exception as exc:  # bad input, a closed pipe, or a bug in dlgen
        from dlgen.errors import report

        sys.exit(report(exc))
    sys.exit(rv if isinstance(rv, int) else 0)
