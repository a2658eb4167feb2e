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
