"""YAML read with bounds: what dlgen reads of compose files and its own config.

A YAML file may be hostile: aliases that expand to billions of nodes from a few lines, a merge key
that includes itself, nesting deep enough to exhaust the parser's recursion, keys that are lists.
`load()` turns every parser failure into `YamlProblem` (one line and the line number), and
`plain()` copies the document into plain dicts and lists while counting: what aliases add stops at
`MAX_NODES` nodes, nesting at `MAX_DEPTH` levels, a cycle is refused, and keys must be scalars.
"""

from __future__ import annotations

import contextlib

MAX_NODES = 200_000   # a real compose file has hundreds; a billion-laughs file reaches this at once
MAX_DEPTH = 100


class YamlProblem(Exception):
    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.line = line


@contextlib.contextmanager
def _reading():
    """Every parser failure as YamlProblem: one line and the line number."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        yield
    except YamlProblem:
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(f"invalid YAML: {exc.problem or exc.context}", (mark.line + 1) if mark else 1) from None
    except YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    except RecursionError:
        raise YamlProblem("YAML nested too deeply to read") from None
    except TypeError as exc:
        if "unhashable" in str(exc):
            raise YamlProblem("a YAML key is a list or mapping; compose and dlgen keys are strings") from None
        raise YamlProblem(f"YAML the parser cannot read ({exc})") from None
    except AttributeError as exc:
        if "referent" in str(exc):
            raise YamlProblem("a merge key (<<) refers to the mapping it is in; refused") from None
        raise YamlProblem(f"YAML the parser cannot read ({exc})") from None
    except Exception as exc:  # the parser's own failures on other odd input
        raise YamlProblem(f"YAML the parser cannot read ({type(exc).__name__}: {exc})") from None


def _constructed(yaml, text: str, every: bool) -> list:
    """The stream's documents (``every``) or its single one, each node graph checked for cycles first."""
    constructor, parser = yaml.get_constructor_parser(text)
    try:
        if not every:
            node = constructor.composer.get_single_node()
            _refuse_cycles(node)
            return [constructor.construct_document(node) if node is not None else None]
        docs = []
        while constructor.composer.check_node():
            node = constructor.composer.get_node()
            _refuse_cycles(node)
            docs.append(constructor.construct_document(node) if node is not None else None)
        return docs
    finally:
        try:
            parser.dispose()
        except AttributeError:
            pass


def load(text: str, *, round_trip: bool = True):
    """The YAML document (ruamel round-trip objects, with line info, or plain safe objects)."""
    from ruamel.yaml import YAML

    with _reading():
        return _constructed(YAML(typ="rt" if round_trip else "safe", pure=True), text, every=False)[0]


def load_all(text: str) -> list:
    """Every document of a multi-document YAML stream (round-trip objects with line info), each bounded
    as `load` bounds one; a document's line numbers are the stream's."""
    from ruamel.yaml import YAML

    with _reading():
        return _constructed(YAML(typ="rt", pure=True), text, every=True)


def _refuse_cycles(root) -> None:
    """An alias that refers to a node it sits inside makes a cycle: parsers differ on what it means
    (ruamel reads it as null, compose refuses it), so it is refused. Depth-first with colours over
    the node graph: each node is visited once, however often aliases name it."""
    if root is None:
        return
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            on_path.discard(key)
            done.add(key)
            continue
        if key in done:
            continue
        if key in on_path:
            mark = getattr(node, "start_mark", None)
            raise YamlProblem("a YAML alias refers to a node it is inside (a cycle); refused",
                              (mark.line + 1) if mark else 1)
        value = getattr(node, "value", None)
        if not isinstance(value, list):
            done.add(key)
            continue
        on_path.add(key)
        stack.append((node, True))
        for item in value:
            for child in (item if isinstance(item, tuple) else (item,)):
                if id(child) in on_path:
                    mark = getattr(child, "start_mark", None)
                    raise YamlProblem("a YAML alias refers to a node it is inside (a cycle); refused",
                                      (mark.line + 1) if mark else 1)
                if id(child) not in done:
                    stack.append((child, False))


def plain(obj, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH):
    """A copy of ``obj`` as plain dicts (string keys), lists and scalars, within the bounds.

    ``max_nodes`` bounds what aliases add: nodes copied again because an alias names a mapping or
    list already copied. A long file without aliases is as long as it is (read_text caps its size)."""
    count = 0
    seen: set[int] = set()

    def walk(o, depth: int, stack: set[int], again: bool = False):
        nonlocal count
        if isinstance(o, (dict, list)):
            again = again or id(o) in seen
            seen.add(id(o))
        if again:
            count += 1
            if count > max_nodes:
                raise YamlProblem(f"YAML aliases expand to more than {max_nodes} nodes; refused")
        if depth > max_depth:
            raise YamlProblem(f"YAML nested more than {max_depth} levels deep; refused")
        if isinstance(o, (dict, list)):
            if id(o) in stack:
                raise YamlProblem("YAML refers to itself through an alias (a cycle); refused")
            stack.add(id(o))
            try:
                if isinstance(o, dict):
                    out = {}
                    for k, v in o.items():
                        if not (k is None or isinstance(k, (str, int, float, bool))):
                            raise YamlProblem("a YAML key is a list or mapping; compose keys are strings")
                        out[str(k)] = walk(v, depth + 1, stack, again)
                    return out
                return [walk(v, depth + 1, stack, again) for v in o]
            finally:
                stack.discard(id(o))
        return o

    return walk(obj, 0, set())
