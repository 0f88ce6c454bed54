"""Binary HTTP messages as values (RFC 9292), and the validity rules both the encoder and decoder apply.

A :class:`Request` or :class:`Response` holds the *semantics* of a message: control data, field
lines in order, content and trailers. How it was framed (known or indeterminate length, padding,
chunk boundaries, truncation, non-minimal varints) is not kept: those choices are not meaningful
(RFC 9292 §3.8) and an encoder picks them afresh.

Validity (checked by :func:`validate_request` / :func:`validate_response`, which both the decoder
and the encoder call, so every decoded message re-encodes and every encoded message decodes):

- field names are RFC 9110 §5.1 tokens (so every pseudo-field, ``:method`` and friends included,
  is refused: attestgw does not accept the extension pseudo-fields RFC 9292 §3.6 would allow);
- field values follow RFC 9113 §8.2.1: no NUL, CR or LF, no leading or trailing space or tab;
- method is a token; scheme is an RFC 3986 scheme; authority is visible ASCII without userinfo
  (``@``) and may be empty; path is non-empty visible ASCII (RFC 9113 §8.3.1). CONNECT-style
  requests with an empty scheme or path are refused;
- informational status codes are 100–199, final ones 200–599.

Not checked: field *semantics* (duplicate ``content-length``, connection-specific fields, cookie
joining, whether content matches ``content-length``). The caller applies HTTP rules on top.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

from attestgw.errors import FormatError

__all__ = [
    "Field",
    "InformationalResponse",
    "Request",
    "Response",
    "field_values",
    "validate_request",
    "validate_response",
]

_TOKEN = re.compile(rb"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_SCHEME = re.compile(rb"\A[A-Za-z][A-Za-z0-9+\-.]*\Z")
_VISIBLE = re.compile(rb"\A[\x21-\x7e]*\Z")
_BAD_VALUE_BYTES = re.compile(rb"[\x00\r\n]")

# Fast paths, which only ever *accept*: when one fails, the rule-by-rule checks above run to find the
# first broken rule and word the error. Searches that find nothing build no match object.
_NOT_TOKEN_CHAR = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]").search
#: method SP scheme SP authority SP path. No part's character class holds SP, so a match splits the
#: joined bytes exactly at the three separators and checks each part by its own rule.
_CONTROL_DATA = re.compile(
    rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [A-Za-z][A-Za-z0-9+\-.]* [\x21-\x3f\x41-\x7e]* [\x21-\x7e]+"
).fullmatch


@dataclass(frozen=True, slots=True)
class Field:
    """One field line: a name (a token, kept in the case it was sent) and a value."""

    name: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Request:
    """A Binary HTTP request: control data, header fields, content, trailer fields."""

    method: bytes
    scheme: bytes
    authority: bytes
    path: bytes
    headers: tuple[Field, ...] = ()
    content: bytes = b""
    trailers: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class InformationalResponse:
    """An interim (1xx) response that precedes the final one."""

    status: int
    headers: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class Response:
    """A Binary HTTP response: interim responses, final status, fields, content, trailers."""

    status: int
    headers: tuple[Field, ...] = ()
    content: bytes = b""
    trailers: tuple[Field, ...] = ()
    informational: tuple[InformationalResponse, ...] = ()


# Fast construction, for the decoder. A frozen dataclass's __init__ sets each attribute through
# object.__setattr__, which costs about as much as parsing the field line did; these fill the slots
# through their descriptors instead. The result is the same object: same values, equality and hash.
# _slot_setters refuses a class whose fields (or a __post_init__) these functions would not match.

_Setter = Callable[[object, object], None]


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[_Setter, ...]:
    if tuple(f.name for f in fields(cls)) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"the fast constructor of {cls.__name__} no longer matches its fields")
    return tuple(vars(cls)[name].__set__ for name in names)


_new = object.__new__
_field_name, _field_value = _slot_setters(Field, ("name", "value"))
_req_method, _req_scheme, _req_authority, _req_path, _req_headers, _req_content, _req_trailers = (
    _slot_setters(Request, ("method", "scheme", "authority", "path", "headers", "content", "trailers"))
)
_resp_status, _resp_headers, _resp_content, _resp_trailers, _resp_informational = _slot_setters(
    Response, ("status", "headers", "content", "trailers", "informational")
)


def new_field(name: bytes, value: bytes) -> Field:
    """``Field(name, value)``, built faster."""
    field = _new(Field)
    _field_name(field, name)
    _field_value(field, value)
    return field


def new_request(
    method: bytes,
    scheme: bytes,
    authority: bytes,
    path: bytes,
    headers: tuple[Field, ...],
    content: bytes,
    trailers: tuple[Field, ...],
) -> Request:
    """``Request(...)`` with every attribute given, built faster."""
    request = _new(Request)
    _req_method(request, method)
    _req_scheme(request, scheme)
    _req_authority(request, authority)
    _req_path(request, path)
    _req_headers(request, headers)
    _req_content(request, content)
    _req_trailers(request, trailers)
    return request


def new_response(
    status: int,
    headers: tuple[Field, ...],
    content: bytes,
    trailers: tuple[Field, ...],
    informational: tuple[InformationalResponse, ...],
) -> Response:
    """``Response(...)`` with every attribute given, built faster."""
    response = _new(Response)
    _resp_status(response, status)
    _resp_headers(response, headers)
    _resp_content(response, content)
    _resp_trailers(response, trailers)
    _resp_informational(response, informational)
    return response


def field_values(fields: Iterable[Field], name: bytes) -> tuple[bytes, ...]:
    """Values of every field line named ``name`` (ASCII case-insensitive), in order."""
    wanted = name.lower()
    return tuple(f.value for f in fields if f.name.lower() == wanted)


def _invalid(message: str) -> FormatError:
    return FormatError("bhttp.field_invalid", message)


def validate_fields(fields: Iterable[Field], section: str) -> None:
    """Refuse a field line whose name or value RFC 9292 §3.6 makes invalid."""
    lines = tuple(fields)  # no copy for a tuple; a one-shot iterable may be walked twice
    for f in lines:
        name, value = f.name, f.value
        # Membership tests of single bytes are plain memchr scans, cheaper here than a regex search;
        # strip() hands back an equal value exactly when there is no surrounding SP or HTAB.
        if (
            not name
            or _NOT_TOKEN_CHAR(name)
            or 0 in value
            or 13 in value
            or 10 in value
            or value.strip(b" \t") != value
        ):
            _refuse_fields(lines, section)


def _refuse_fields(fields: Iterable[Field], section: str) -> None:
    """The rule-by-rule check behind :func:`validate_fields`: raises for the first broken rule."""
    for index, f in enumerate(fields):
        if not _TOKEN.match(f.name):
            raise _invalid(f"{section} field {index}: name {f.name[:64].hex()} is not an HTTP token")
        if _BAD_VALUE_BYTES.search(f.value):
            raise _invalid(f"{section} field {index} ({f.name.decode()}): value contains NUL, CR or LF")
        if f.value[:1] in (b" ", b"\t") or f.value[-1:] in (b" ", b"\t"):
            raise _invalid(f"{section} field {index} ({f.name.decode()}): value has surrounding whitespace")


def _validate_control_data(request: Request) -> None:
    if _CONTROL_DATA(b" ".join((request.method, request.scheme, request.authority, request.path))):
        return
    if not _TOKEN.match(request.method):
        raise _invalid(f"method {request.method[:64].hex()} is not an HTTP token")
    if not _SCHEME.match(request.scheme):
        raise _invalid(f"scheme {request.scheme[:64].hex()} is not a URI scheme")
    if not _VISIBLE.match(request.authority) or b"@" in request.authority:
        raise _invalid("authority has a non-visible character or userinfo")
    if not request.path or not _VISIBLE.match(request.path):
        raise _invalid("path is empty or has a non-visible character")


def validate_request(request: Request) -> None:
    """Raise ``FormatError("bhttp.field_invalid")`` unless ``request`` is a valid message."""
    _validate_control_data(request)
    if request.headers:  # sections are often empty: skip the call
        validate_fields(request.headers, "header")
    if request.trailers:
        validate_fields(request.trailers, "trailer")


def validate_response(response: Response) -> None:
    """Raise ``FormatError("bhttp.field_invalid")`` unless ``response`` is a valid message."""
    for interim in response.informational:
        if not 100 <= interim.status <= 199:
            raise _invalid(f"informational status {interim.status}, want 100-199")
        validate_fields(interim.headers, f"{interim.status} header")
    if not 200 <= response.status <= 599:
        raise _invalid(f"final status {response.status}, want 200-599")
    if response.headers:  # sections are often empty: skip the call
        validate_fields(response.headers, "header")
    if response.trailers:
        validate_fields(response.trailers, "trailer")
