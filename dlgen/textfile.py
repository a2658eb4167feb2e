"""Reading and writing the text files dlgen judges, fixes and generates.

Two promises live here and nowhere else:

* **BuildKit's line model.** A line ends at ``\\n`` and only there (BuildKit's scanner splits on
  ``\\n`` and trims trailing ``\\r``; form feed, vertical tab, ``\\x1c``-``\\x1e``, U+0085 and
  U+2028 are ordinary characters inside a line). `lines()` gives the lines as the parser counts
  them, `split_lines()` keeps each line's own ending so an edit can put it back, and
  `replace_lines()` applies line edits without touching any other line's bytes or ending.
* **A file keeps its identity when it is rewritten.** `write_text()` writes through a symlink to
  its target, keeps owner, group and mode, keeps hard links, keeps a UTF-8 BOM, fsyncs the data
  and the directory, and never leaves its temporary file behind (a stale one from a killed run is
  removed by the next). Read-only files are refused, not rewritten.

`read_text()` reads only regular files (a FIFO or a device is refused before it is opened for
reading, so nothing blocks), at most `MAX_BYTES`.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"
MAX_BYTES = 64 * 2**20      # larger files are refused, not read into memory
TMP_TAG = ".dlgen-tmp"


class FileProblem(Exception):
    """A file that cannot be read or written as asked; the message is one line for the user."""


# ---------------------------------------------------------------------------- line model
def split_lines(text: str) -> list[tuple[str, str]]:
    """(content, ending) per line: ending is the line's ``\\r``* ``\\n``, or "" for a last line with none."""
    out: list[tuple[str, str]] = []
    start = 0
    n = len(text)
    while start < n:
        nl = text.find("\n", start)
        if nl == -1:
            out.append((text[start:], ""))
            break
        cut = nl
        while cut > start and text[cut - 1] == "\r":
            cut -= 1
        out.append((text[start:cut], text[cut:nl + 1]))
        start = nl + 1
    return out


# What BuildKit trims as white space (Go's unicode.IsSpace): Python's str.isspace() less the
# separators \x1c-\x1f, which Go treats as ordinary characters.
_NOT_GO_SPACE = "\x1c\x1d\x1e\x1f"


def is_blank(line: str) -> bool:
    """True when BuildKit sees nothing on the line (only Go white space, or nothing)."""
    return all(c.isspace() and c not in _NOT_GO_SPACE for c in line)


def lstrip(line: str) -> str:
    """The line without the leading white space BuildKit trims."""
    i = 0
    while i < len(line) and line[i].isspace() and line[i] not in _NOT_GO_SPACE:
        i += 1
    return line[i:]


def lines(text: str) -> list[str]:
    """The lines as BuildKit counts them (line N is ``lines(text)[N - 1]``), without their endings."""
    return [content for content, _ in split_lines(text)]


def _common_ending(records: list[tuple[str, str]]) -> str:
    ends = [e for _, e in records if e]
    return max(set(ends), key=ends.count) if ends else "\n"


def replace_lines(text: str, edits) -> str:
    """Apply line edits (objects with start, end, text; 1-based inclusive; ``end == start - 1``
    inserts before ``start``; empty text deletes) bottom-up. Lines outside the edits keep their
    bytes and endings; new lines take the ending of the line they replace (or the file's usual one)."""
    records = split_lines(text)
    default = _common_ending(records)
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        lo, hi = e.start - 1, max(e.start - 1, e.end)
        old = records[lo:hi]
        new = [(line, (old[0][1] if old else "") or default) for line in (e.text.split("\n") if e.text else [])]
        if old and new:
            new[-1] = (new[-1][0], old[-1][1])     # the last line keeps the replaced block's ending
        elif new and lo >= len(records) and records and not records[-1][1]:
            records[-1] = (records[-1][0], default)  # appending after a last line that had no ending
            new[-1] = (new[-1][0], "")
        records[lo:hi] = new
    return "".join(c + e for c, e in records)


# ---------------------------------------------------------------------------- reading
@dataclass
class Text:
    text: str        # decoded, without a BOM
    bom: bool        # the file started with a UTF-8 BOM


def read_text(path: Path | str, max_bytes: int = MAX_BYTES) -> Text:
    """A regular file's text (UTF-8, BOM noted). Raises FileProblem with a one-line reason."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileProblem("no such file or directory") from None
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem("is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem("not a regular file (a FIFO, socket or device); pass a file")
    if st.st_size > max_bytes:
        raise FileProblem(f"larger than {max_bytes // 2**20} MiB; not read")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the stat
            raise FileProblem("not a regular file (a FIFO, socket or device); pass a file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileProblem(f"larger than {max_bytes // 2**20} MiB; not read")
    nul = data.find(b"\x00")
    if nul != -1:   # the Dockerfile parser reads a C string: it would stop here and lint half the file
        line = data.count(b"\n", 0, nul) + 1
        raise FileProblem(f"binary file (a NUL byte on line {line}); not read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"not UTF-8 (byte {exc.start})") from None
    if text.startswith(BOM):
        return Text(text[1:], True)
    return Text(text, False)


# ---------------------------------------------------------------------------- writing
def _tmp_name(target: Path) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}{TMP_TAG}"


def remove_stale_temps(target: Path) -> None:
    """Delete temporary files a killed dlgen left beside ``target`` (their writer is gone)."""
    try:
        siblings = list(target.parent.glob(f".{target.name}.*{TMP_TAG}"))
    except OSError:
        return
    for tmp in siblings:
        pid = tmp.name[len(target.name) + 2:-len(TMP_TAG)]
        if not pid.isdigit():
            continue
        if int(pid) != os.getpid() and process_alive(int(pid)):
            continue
        try:
            tmp.unlink()
        except OSError:
            pass


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (another user's counts: it may not be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable(path: Path | str) -> Path:
    """The real file behind ``path`` if dlgen may rewrite it; FileProblem (one line) if not."""
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except OSError as exc:
        raise FileProblem(f"cannot write: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem("not a regular file; not rewritten")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise FileProblem(f"read-only file (mode {stat.S_IMODE(st.st_mode):04o}"
                          + ("" if st.st_uid == os.geteuid() else f", owner uid {st.st_uid}")
                          + "); not rewritten: make it writable first (chmod u+w) or use --diff")
    if not os.access(real.parent, os.W_OK | os.X_OK):
        raise FileProblem(f"cannot write in {real.parent} (permission denied); use --diff")
    return real


def _same_owner_possible(st: os.stat_result) -> bool:
    """Whether a new file made here can be given ``st``'s owner and group (else: rewrite in place)."""
    if os.geteuid() == 0:
        return True
    return st.st_uid == os.geteuid() and (st.st_gid == os.getegid() or st.st_gid in os.getgroups())


def _write_in_place(real: Path, data: bytes, old: bytes) -> None:
    """Overwrite ``real`` with ``data`` keeping its inode (hard links, another owner's file).

    The blocks beyond the old length are reserved first, so a full disk fails before a byte
    changes; should a write still fail, the old bytes are put back (their blocks exist)."""
    with open(real, "r+b") as fh:
        if len(data) > len(old):
            try:
                os.posix_fallocate(fh.fileno(), len(old), len(data) - len(old))
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
                    fh.truncate(len(old))
                    raise
        try:
            fh.seek(0)
            fh.write(data)
            fh.truncate(len(data))
            fh.flush()
            os.fsync(fh.fileno())
        except OSError:
            fh.seek(0)
            fh.write(old)
            fh.truncate(len(old))
            fh.flush()
            os.fsync(fh.fileno())
            raise


def write_text(path: Path | str, text: str, *, bom: bool = False, mode: int | None = None,
               expect: str | None = None, expect_bom: bool = False) -> Path:
    """Replace ``path``'s content with ``text`` (UTF-8, a BOM first if ``bom``), atomically.

    An existing file keeps its identity: a symlink is written through to its target, owner, group
    and mode stay, and a file with several hard links (or one whose owner a new file could not
    get) is rewritten in place, after the new content is safely on disk beside it, so every link
    sees it. ``expect``: the text the file held when it was read; if it changed since (an editor
    saved it meanwhile), nothing is written. A failed write (a full disk) leaves the file as it was.
    A new file gets ``mode`` (default 0644). Returns the path of the file written (the symlink's target)."""
    path = Path(path)
    exists = os.path.lexists(path)
    real = check_writable(path) if exists else path
    data = ((BOM if bom else "") + text).encode("utf-8")
    st = os.stat(real) if exists else None
    remove_stale_temps(real)
    tmp = _tmp_name(real)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise FileProblem(f"cannot write in {real.parent} ({exc.strerror}); use --diff") from None
        raise FileProblem(f"cannot write: {exc.strerror}") from None
    keep_tmp = False
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            in_place = st is not None and (st.st_nlink > 1 or not _same_owner_possible(st))
            if st is not None:
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
                if not in_place and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    os.chown(tmp, st.st_uid, st.st_gid)
            else:
                os.chmod(tmp, 0o644 if mode is None else mode)
            old = b""
            if st is not None:
                with open(real, "rb") as fh:
                    old = fh.read()
                if expect is not None and old != ((BOM if expect_bom else "") + expect).encode("utf-8"):
                    raise FileProblem("changed on disk while dlgen worked on it; not rewritten, so that "
                                      "change is kept: run dlgen again")
            if in_place:
                try:
                    _write_in_place(real, data, old)
                except OSError as exc:
                    keep_tmp = _differs(real, old)
                    where = f"; the fixed text is in {tmp}" if keep_tmp else "; the file is unchanged"
                    raise FileProblem(f"cannot write: {exc.strerror}{where}") from None
                os.unlink(tmp)
            else:
                os.replace(tmp, real)
            _fsync_dir(real.parent)
        except OSError as exc:
            raise FileProblem(f"cannot write: {exc.strerror}; the file is unchanged") from None
    finally:
        if not keep_tmp and os.path.lexists(tmp):
            os.unlink(tmp)
    return real


def _differs(real: Path, old: bytes) -> bool:
    try:
        with open(real, "rb") as fh:
            return fh.read() != old
    except OSError:
        return True
