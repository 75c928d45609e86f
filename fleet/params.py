"""Typed job params: declarations from job.yaml, validation of user values.

String-like values (``str``, ``comm``, ``disk``) reach templates wrapped in
``StringParam``, which refuses to turn itself into text, and ``JINJA_ENV``
refuses attribute access on it: the only way into the C is the ``c_chars`` /
``c_len`` filters, so no user string is ever pasted into C source.
"""

from __future__ import annotations

import difflib
import math
import re
import traceback
from dataclasses import dataclass, replace
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .errors import InputError, brief
from .yamlsrc import line_of

PARAM_TYPES = ("bool", "int", "float", "str", "comm", "disk", "user")
STRING_TYPES = ("str", "comm", "disk", "user")
# Values only a host can turn into numbers (a disk's dev, a user's uid).
HOST_RESOLVED = ("disk", "user")

# Values land in C as integer literals; keep them inside a signed 64-bit range
# so a missing max never yields a literal the compiler silently truncates.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DEFAULT_MAX_LEN = 64

_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")
_COMM_RE = re.compile(r"[\x20-\x7e]{1,15}")
_DISK_RE = re.compile(r"[A-Za-z0-9._-]{1,31}")
# POSIX portable user names (and the usual extras: dots, a trailing $).
_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}\$?")
_CLI_BOOLS = {"true": True, "yes": True, "false": False, "no": False}
# Names jinja treats specially; a param called `loop` or `none` would be shadowed.
_RESERVED = {"and", "or", "not", "in", "is", "if", "else", "true", "false",
             "none", "loop", "self", "varargs", "kwargs", "caller"}
# Declaration keys beyond type/default/help, per type.
_EXTRA_KEYS = {"int": ("min", "max"), "float": ("min", "max"),
               "str": ("pattern", "max_len")}


class StringLeakError(Exception):
    """A template tried to paste a string param into the C text."""


class StringParam:
    """A validated string value that templates may only emit via c_chars/c_len."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str):
        self._name = name
        self._value = value

    def refuse(self, *_args: Any) -> str:
        """Raise StringLeakError: the value must not become template text."""
        raise StringLeakError(
            f"string param {self._name} can only be used via | c_chars / | c_len"
        )

    __str__ = __html__ = __format__ = refuse  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<string param {self._name}>"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringParam):
            return self._value == other._value
        return self._value == other

    def __hash__(self) -> int:
        return hash(self._value)


def c_chars(value: Any) -> str:
    """Jinja filter: a C array initializer of the value's bytes plus NUL."""
    data = _string_bytes(value, "c_chars")
    return "{" + ", ".join(f"0x{b:02x}" for b in data + b"\x00") + "}"


def c_ints(value: Any) -> str:
    """Jinja filter: a str param of comma-separated integers as a C initializer."""
    text = _string_bytes(value, "c_ints").decode()
    if not re.fullmatch(r"\d{1,10}(,\d{1,10})*", text):
        raise StringLeakError(f"| c_ints needs comma-separated integers, got {text!r}")
    return "{" + ", ".join(str(int(n)) for n in text.split(",")) + "}"


def c_len(value: Any) -> int:
    """Jinja filter: the value's length in bytes, without the NUL."""
    return len(_string_bytes(value, "c_len"))


def _string_bytes(value: Any, filter_name: str) -> bytes:
    if isinstance(value, StringParam):
        return value._value.encode("utf-8")
    if value is None:
        raise StringLeakError(
            f"| {filter_name} got a param that is off (null); guard it with {{% if %}}"
        )
    raise StringLeakError(
        f"| {filter_name} only accepts string params, got {brief(value)}"
    )


class _Environment(SandboxedEnvironment):
    """Jinja environment that refuses attribute/item access on string params.

    The sandbox also covers paths that bypass ``getattr`` (the ``attr`` filter
    in older jinja releases), and hides every ``_``-prefixed attribute.
    """

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """No attribute of a string param is safe: it could expose the value."""
        if isinstance(obj, StringParam):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, StringParam):
            obj.refuse()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, StringParam):
            obj.refuse()
        return super().getitem(obj, argument)


# StrictUndefined: a typo in a template must fail the plan, not render as "".
JINJA_ENV = _Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                         keep_trailing_newline=True)
JINJA_ENV.filters.update(c_chars=c_chars, c_len=c_len, c_ints=c_ints)


def compile_template(text: str, filename: str) -> jinja2.Template:
    """Compile C template text; a syntax error names the file and line."""
    try:
        code = JINJA_ENV.compile(text, filename=filename)
    except jinja2.TemplateSyntaxError as err:
        raise InputError(f"template syntax error: {err.message}", filename,
                         err.lineno) from None
    # What Environment.from_string does, plus a filename so errors name the file.
    globals_ = JINJA_ENV.make_globals(None)
    return JINJA_ENV.template_class.from_code(JINJA_ENV, code, globals_, None)


def render_error(err: Exception, filename: str) -> InputError:
    """Turn an exception raised while rendering into an InputError at its line."""
    line = 0
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename and frame.lineno:
            line = frame.lineno  # jinja rewrites frames to template lines
    return InputError(f"template error: {error_text(err)}", filename, line or None)


def error_text(err: Exception) -> str:
    """Say what went wrong in a template, without a traceback."""
    if isinstance(err, (jinja2.TemplateError, StringLeakError)):
        return str(err.message if isinstance(err, jinja2.TemplateError) else err)
    return f"{type(err).__name__}: {err}"


@dataclass(frozen=True)
class ParamSpec:
    """One declared param of a job: its type, default, bounds and help."""

    name: str
    type: str
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    max_len: int = DEFAULT_MAX_LEN
    bcc: str | None = None  # the bcc tool's option this param stands for, e.g. -p PID

    def expected(self) -> str:
        """Describe in words which values this param accepts."""
        if self.type == "bool":
            return "true or false"
        if self.type in ("int", "float"):
            noun = "an integer" if self.type == "int" else "a number"
            return noun + _bounds_text(self.min, self.max)
        if self.type == "str":
            return f"a string matching /{self.pattern}/ of at most {self.max_len} bytes"
        if self.type == "comm":
            return ("a command name of 1-15 printable ASCII characters "
                    "without quotes or backslashes")
        if self.type == "user":
            return "a user name like 'www-data' (resolved to its uid on each host)"
        return "a disk name like 'sda' or 'nvme0n1' (1-31 of A-Z a-z 0-9 . _ -)"

    def accepts(self, value: Any) -> bool:
        """Tell whether a (YAML-typed) value is valid for this param; None is off."""
        return value is None or _CHECKERS[self.type](self, value)

    def from_cli(self, text: str) -> Any:
        """Convert a `--param k=v` string to this param's type (unchecked if odd)."""
        if self.type == "bool":
            return _CLI_BOOLS.get(text.strip().lower(), text)
        if self.type == "int":
            return _parse_cli_int(text)
        if self.type == "float":
            return _parse_cli_float(text)
        return text


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low!r} to {high!r}"
    if low is not None:
        return f" >= {low!r}"
    if high is not None:
        return f" <= {high!r}"
    return ""


def _in_bounds(spec: ParamSpec, value: float) -> bool:
    low = spec.min if spec.min is not None else -math.inf
    high = spec.max if spec.max is not None else math.inf
    return low <= value <= high


def _check_int(spec: ParamSpec, value: Any) -> bool:
    # bool is a subclass of int in Python; `true` is never a valid count.
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return INT64_MIN <= value <= INT64_MAX and _in_bounds(spec, value)


def _check_float(spec: ParamSpec, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # inf/nan have no C literal; they would break the compile on every host.
    return math.isfinite(value) and _in_bounds(spec, value)


def _check_str(spec: ParamSpec, value: Any) -> bool:
    if not isinstance(value, str) or len(value.encode("utf-8")) > spec.max_len:
        return False
    return re.fullmatch(spec.pattern or "", value) is not None


def _check_comm(spec: ParamSpec, value: Any) -> bool:
    return (isinstance(value, str) and _COMM_RE.fullmatch(value) is not None
            and not any(c in value for c in "\"'\\"))


def _check_disk(spec: ParamSpec, value: Any) -> bool:
    # The agent looks the name up under /sys/class/block; "." or ".." would
    # walk out of that directory.
    return (isinstance(value, str) and _DISK_RE.fullmatch(value) is not None
            and value.strip(".") != "")


def _check_user(spec: ParamSpec, value: Any) -> bool:
    return isinstance(value, str) and _USER_RE.fullmatch(value) is not None


_CHECKERS = {"bool": lambda spec, value: isinstance(value, bool), "int": _check_int,
             "float": _check_float, "str": _check_str, "comm": _check_comm,
             "disk": _check_disk, "user": _check_user}


def _parse_cli_int(text: str) -> Any:
    # Base 0 takes 0x10, but refuses "010", which base 10 takes.
    for base in (0, 10):
        try:
            return int(text.strip(), base)
        except ValueError:
            pass
    return text


def _parse_cli_float(text: str) -> Any:
    try:
        return float(text.strip())
    except ValueError:
        return text


def check_value(spec: ParamSpec, value: Any, job: str,
                path: str | None = None, line: int | None = None) -> Any:
    """Return the value if valid for the param, else raise InputError."""
    if spec.accepts(value):
        return float(value) if spec.type == "float" and value is not None else value
    raise InputError(
        f"param {spec.name!r} of job {job!r} must be {spec.expected()}, "
        f"got {brief(value)}",
        path, line,
    )


def unknown_param(name: Any, job: str, known: list[str],
                  path: str | None = None, line: int | None = None) -> InputError:
    """Build the error for a param the job does not declare."""
    hint = ""
    close = difflib.get_close_matches(str(name), known, n=1)
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    listing = ", ".join(known) if known else "none"
    return InputError(
        f"job {job!r} has no param {name!r}{hint}; known params: {listing}", path, line
    )


def validate_params(specs: dict[str, ParamSpec], values: Any, job: str,
                    path: str | None = None, line: int | None = None) -> dict:
    """Check user values against the declarations and fill in defaults."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputError(f"params of job {job!r} must be a mapping of name: value, "
                         f"got {brief(values)}", path, line)
    for key in values:
        if key not in specs:
            raise unknown_param(key, job, list(specs), path, line_of(values, key, line))
    result = {}
    for name, spec in specs.items():
        if name in values:
            value_line = line_of(values, name, line or 0) or line
            result[name] = check_value(spec, values[name], job, path, value_line)
        else:
            result[name] = spec.default
    return result


def cli_params(specs: dict[str, ParamSpec], texts: dict[str, str], job: str) -> dict:
    """Convert `--param k=v` strings by each param's type, then validate them."""
    for key in texts:
        if key not in specs:
            raise unknown_param(key, job, list(specs))
    converted = {key: specs[key].from_cli(text) for key, text in texts.items()}
    return validate_params(specs, converted, job)


def template_value(spec: ParamSpec, value: Any) -> Any:
    """Wrap a validated value for the C template (strings become StringParam)."""
    if spec.type in STRING_TYPES and value is not None:
        return StringParam(spec.name, value)
    return value


def parse_param_spec(name: Any, decl: Any, path: str) -> ParamSpec:
    """Build a ParamSpec from one job.yaml `params:` entry, strictly."""
    line = line_of(decl)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in _RESERVED:
        raise InputError(f"param name {name!r} must be a lower-case identifier "
                         "(a-z, 0-9, _) and not a jinja keyword", path, line)
    if not isinstance(decl, dict):
        raise InputError(f"param {name!r} must be a mapping like "
                         "{type: int, default: 0, help: ...}", path, line)
    ptype = decl.get("type")
    if ptype not in PARAM_TYPES:
        raise InputError(f"param {name!r} has type {ptype!r}; expected one of "
                         f"{', '.join(PARAM_TYPES)}", path, line_of(decl, "type", line))
    _check_decl_keys(name, decl, {"type", "default", "help", "bcc",
                                  *_EXTRA_KEYS.get(ptype, ())}, path)
    spec = ParamSpec(
        name=name, type=ptype, help=_decl_help(name, decl, path),
        min=_decl_bound(name, decl, "min", path),
        max=_decl_bound(name, decl, "max", path),
        pattern=_decl_pattern(name, decl, ptype, path),
        max_len=_decl_max_len(name, decl, path),
        bcc=_decl_bcc(name, decl, path),
    )
    default = decl.get("default")
    if not spec.accepts(default):
        raise InputError(f"default of param {name!r} must be {spec.expected()} or "
                         f"null, got {brief(default)}", path,
                         line_of(decl, "default", line))
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        raise InputError(f"param {name!r} has min {spec.min!r} above max {spec.max!r}",
                         path, line_of(decl, "min", line))
    return replace(spec, default=check_value(spec, default, ""))


def _check_decl_keys(name: str, decl: dict, allowed: set, path: str) -> None:
    for key in decl:
        if key not in allowed:
            raise InputError(
                f"unknown key {key!r} in param {name!r} of type {decl['type']}; "
                f"expected: {', '.join(sorted(allowed))}", path, line_of(decl, key),
            )


def _decl_help(name: str, decl: dict, path: str) -> str:
    text = decl.get("help", "")
    if not isinstance(text, str):
        raise InputError(f"help of param {name!r} must be a string", path,
                         line_of(decl, "help"))
    return text


def _decl_bcc(name: str, decl: dict, path: str) -> str | None:
    text = decl.get("bcc")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise InputError(f"bcc of param {name!r} must be the bcc tool's option or "
                         f"argument, like '-p PID', got {text!r}", path,
                         line_of(decl, "bcc"))
    return text


def _decl_bound(name: str, decl: dict, key: str, path: str) -> float | None:
    value = decl.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} of param {name!r} must be a number, "
                         f"got {brief(value)}",
                         path, line_of(decl, key))
    if decl["type"] == "int" and not isinstance(value, int):
        raise InputError(f"{key} of int param {name!r} must be an integer, "
                         f"got {brief(value)}", path, line_of(decl, key))
    return value


def _decl_pattern(name: str, decl: dict, ptype: str, path: str) -> str | None:
    if ptype != "str":
        return None
    pattern = decl.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise InputError(f"str param {name!r} needs a `pattern:` regex its values "
                         "must fully match", path, line_of(decl))
    try:
        re.compile(pattern)
    except re.error as err:
        raise InputError(f"pattern of param {name!r} is not a valid regex: {err}",
                         path, line_of(decl, "pattern")) from None
    return pattern


def _decl_max_len(name: str, decl: dict, path: str) -> int:
    value = decl.get("max_len", DEFAULT_MAX_LEN)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"max_len of param {name!r} must be an integer >= 1, "
                         f"got {brief(value)}", path, line_of(decl, "max_len"))
    return value
