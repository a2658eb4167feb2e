"""The one exception type that reaches the user as a single line and exit code 2."""


class DlgenError(Exception):
    """Bad input: ``message`` names the problem, ``hint`` the fix."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        text = self.message.rstrip(".")
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(text.split("\n"))


def report(exc: BaseException) -> int:
    """What the command line prints for an exception that left a command, and its exit code: bad input
    is one line (exit 2); a closed output pipe ends quietly (0); anything else is a bug in dlgen: one
    line, and the traceback with DLGEN_DEBUG=1 (2)."""
    import os
    import sys
    import traceback

    if isinstance(exc, DlgenError):
        print(f"dlgen: error: {exc.line()}", file=sys.stderr)
        return 2
    if isinstance(exc, BrokenPipeError):
        return 0
    if os.environ.get("DLGEN_DEBUG"):
        traceback.print_exception(exc)
    print(f"dlgen: internal error: {type(exc).__name__}: {exc} (set DLGEN_DEBUG=1 for the traceback; please report "
          "it)", file=sys.stderr)
    return 2
