"""YAML as the targets write it and edit it: one dumper for rendering (block style, quoted YAML 1.1
words), and a round-trip load/dump for edits that keep comments, quoting and key order."""

from __future__ import annotations

import io
import re
from typing import Any

# Words that YAML 1.1 readers (kubectl's and compose's Go parsers, PyYAML) take for a boolean or
# null: written quoted, so a name "on" or "no" stays a string for every reader (YAML 1.1 spec,
# "Boolean Language-Independent Type").
YAML_1_1_WORDS = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
                            r"|null|Null|NULL|~")


def _str_for_yaml_1_1(representer, data):
    if YAML_1_1_WORDS.fullmatch(data):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return representer.represent_str(data)


def _yaml(round_trip: bool):
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    if round_trip:
        yaml.preserve_quotes = True
    else:
        yaml.default_flow_style = False
        yaml.representer.ignore_aliases = lambda *_: True
        yaml.representer.add_representer(str, _str_for_yaml_1_1)
    return yaml


def to_yaml(obj: Any) -> str:
    """A document as dlgen writes it."""
    buf = io.StringIO()
    _yaml(False).dump(obj, buf)
    return buf.getvalue()


def load_all(text: str) -> list[Any]:
    """Every document of ``text`` with its comments, quoting and key order (for edit and dump_all)."""
    return list(_yaml(True).load_all(text))


def dump_all(docs: list[Any]) -> str:
    buf = io.StringIO()
    yaml = _yaml(True)
    if len(docs) == 1:
        yaml.dump(docs[0], buf)
    else:
        yaml.dump_all(docs, buf)
    return buf.getvalue()


def set_with_comment(mapping: Any, key: str, value: Any, comment: str | None) -> None:
    """mapping[key] = value, with ``comment`` as the line's end comment (replacing the one it had)."""
    mapping[key] = value
    ca = getattr(mapping, "ca", None)
    if ca is None:
        return
    ca.items.pop(key, None)
    if comment:
        mapping.yaml_add_eol_comment(comment, key, column=0)


def mappings_with(node: Any, key: str):
    """Every mapping under ``node`` (documents, lists, mappings) that has ``key``."""
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from mappings_with(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from mappings_with(item, key)
