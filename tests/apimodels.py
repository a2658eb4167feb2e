"""Field-by-field checks of Kubernetes objects against their published API.

``check_model`` walks a value against a typed model of the kubeflow-trainer-api package (Kubeflow
Trainer v2's TrainJob and TrainingRuntime, JobSet, and the io.k8s core types they embed): every key
must be a field of the model (by its JSON name) and every value of the field's kind. ``check_table``
does the same against a type table written from an API's Go types (tests/data/lws_v1.yaml), whose
``core NAME`` entries are checked with ``check_model``."""

from __future__ import annotations

import datetime
import types
import typing

from pydantic import BaseModel

SCALAR_MODELS = ("Quantity", "IntOrString")   # wrappers the JSON writes as a bare string or number
KINDS = {"str": str, "int": int, "bool": bool, "list": list, "map": dict, "object": dict}


def _unwrap(annotation):
    """Optional[X] -> X, Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else typing.Any
        else:
            return annotation


def _check_value(value, annotation, where: str, problems: list[str]) -> None:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if annotation is typing.Any:
        return
    if origin in (list, typing.List):   # noqa: UP006 (the generated models spell it typing.List)
        if not isinstance(value, list):
            problems.append(f"{where}: a list, not {type(value).__name__}")
            return
        (item,) = typing.get_args(annotation) or (typing.Any,)
        for i, v in enumerate(value):
            _check_value(v, item, f"{where}[{i}]", problems)
        return
    if origin in (dict, typing.Dict):   # noqa: UP006
        if not isinstance(value, dict):
            problems.append(f"{where}: a map, not {type(value).__name__}")
            return
        args = typing.get_args(annotation)
        for k, v in value.items():
            _check_value(v, args[1] if len(args) == 2 else typing.Any, f"{where}.{k}", problems)
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if any(s in annotation.__name__ for s in SCALAR_MODELS):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                problems.append(f"{where}: a string or number ({annotation.__name__}), not {value!r}")
            return
        check_model(value, annotation, where, problems)
        return
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif annotation in (str, datetime.datetime):
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        problems.append(f"{where}: {getattr(annotation, '__name__', annotation)}, not {type(value).__name__} "
                        f"({value!r})")


def check_model(value, model: type[BaseModel], where: str, problems: list[str]) -> None:
    """``value`` (a mapping) against a typed model: known JSON field names, values of the right kind."""
    if not isinstance(value, dict):
        problems.append(f"{where}: an object ({model.__name__}), not {type(value).__name__}")
        return
    by_json = {(f.alias or name): f for name, f in model.model_fields.items()}
    for key, item in value.items():
        field = by_json.get(key)
        if field is None:
            problems.append(f"{where}.{key}: not a field of {model.__name__}")
        else:
            _check_value(item, field.annotation, f"{where}.{key}", problems)


def core(name: str) -> type[BaseModel]:
    import kubeflow_trainer_api.models as models

    return getattr(models, name)


def check_table(value, type_name: str, table: dict, where: str, problems: list[str]) -> None:
    """``value`` against a type of an API table (tests/data/*.yaml): ``list X``, ``enum A B``,
    ``core NAME`` (a typed model), a scalar kind, or an object type of the table."""
    if type_name.startswith("list "):
        if not isinstance(value, list):
            problems.append(f"{where}: a list, not {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check_table(item, type_name[5:], table, f"{where}[{i}]", problems)
        return
    if type_name.startswith("enum "):
        if value not in type_name.split()[1:]:
            problems.append(f"{where}: {value!r} is not one of {type_name.split()[1:]}")
        return
    if type_name.startswith("core "):
        check_model(value, core(type_name[5:]), where, problems)
        return
    if type_name in KINDS:
        if not isinstance(value, KINDS[type_name]) or (type_name == "int" and isinstance(value, bool)):
            problems.append(f"{where}: {type_name}, not {type(value).__name__} ({value!r})")
        return
    fields = table["types"][type_name]
    if not isinstance(value, dict):
        problems.append(f"{where}: an object ({type_name}), not {type(value).__name__}")
        return
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{where}.{key}: not a field of {type_name}")
        else:
            check_table(item, fields[key], table, f"{where}.{key}", problems)
