"""Property tests for the sealed channel's parsers: only our errors escape, and Binary HTTP round-trips."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.bhttp import (
    Field,
    InformationalResponse,
    Request,
    Response,
    decode_message,
    encode_request,
    encode_response,
)
from attestgw.crypto.receipt_keys import ReceiptKey, receipt_algorithm, receipt_verifier
from attestgw.errors import DecryptionError, FormatError
from attestgw.ohttp import (
    ChunkedClientRequest,
    ClientRequest,
    KeyConfig,
    Server,
    ServerKey,
    decode_key_configs,
)

_KEY = ServerKey.generate(1)
_TCHAR = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VISIBLE = bytes(range(0x21, 0x7F))

tokens = st.binary(min_size=1, max_size=12).map(lambda b: bytes(_TCHAR[x % len(_TCHAR)] for x in b))
visible = st.binary(max_size=20).map(lambda b: bytes(_VISIBLE[x % len(_VISIBLE)] for x in b))
values = st.binary(max_size=40).map(
    lambda b: b.replace(b"\x00", b"").replace(b"\r", b"").replace(b"\n", b"").strip(b" \t")
)
fields = st.lists(st.builds(Field, tokens, values), max_size=6).map(tuple)
requests = st.builds(
    Request,
    method=tokens,
    scheme=st.sampled_from([b"https", b"http", b"x-scheme+1.0"]),
    authority=visible.map(lambda b: b.replace(b"@", b"")),
    path=visible.map(lambda b: b"/" + b),
    headers=fields,
    content=st.binary(max_size=200),
    trailers=fields,
)
responses = st.builds(
    Response,
    status=st.integers(200, 599),
    headers=fields,
    content=st.binary(max_size=200),
    trailers=fields,
    informational=st.lists(st.builds(InformationalResponse, st.integers(100, 199), fields), max_size=3).map(
        tuple
    ),
)


@settings(max_examples=300, deadline=None)
@given(message=st.one_of(requests, responses), indeterminate=st.booleans(), padding=st.integers(0, 16))
def test_bhttp_encode_decode_round_trip(
    message: Request | Response, indeterminate: bool, padding: int
) -> None:
    if isinstance(message, Request):
        encoded = encode_request(message, indeterminate=indeterminate, padding=padding)
    else:
        encoded = encode_response(message, indeterminate=indeterminate, padding=padding)
    assert decode_message(encoded) == message


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_bhttp_decode_only_raises_format_error(data: bytes) -> None:
    try:
        message = decode_message(data)
    except FormatError as err:
        code = err.code
        assert code.startswith("bhttp."), code
        return
    # whatever decodes re-encodes (in some framing) to a message that decodes the same
    again = encode_request(message) if isinstance(message, Request) else encode_response(message)
    assert decode_message(again) == message


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x00", b"\x01", b"\x02", b"\x03"]), st.binary(max_size=300))
def test_bhttp_decode_with_valid_framing_only_raises_format_error(framing: bytes, data: bytes) -> None:
    with contextlib.suppress(FormatError):
        decode_message(framing + data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_key_config_decoders_only_raise_format_error(data: bytes) -> None:
    try:
        single = KeyConfig.decode(data)
    except FormatError:
        pass
    else:
        assert single.encode() == data  # whatever decodes re-encodes to the same bytes
    try:
        configs = decode_key_configs(data)
    except FormatError:
        return
    assert all(len(c.public_key) > 0 for c in configs)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(min_size=32, max_size=32), st.binary(max_size=40))
def test_key_config_decoder_near_valid(kdf_and_aead: int, public: bytes, tail: bytes) -> None:
    raw = struct.pack(">BH", 1, 0x0020) + public + struct.pack(">H", 4) + struct.pack(">HH", 1, kdf_and_aead)
    try:
        config = KeyConfig.decode(raw + tail)
    except FormatError:
        assert tail
        return
    assert config.encode() == raw + tail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_request_open_on_arbitrary_bytes_only_raises_our_errors(data: bytes) -> None:
    server = Server([_KEY])
    for opener in (server.open_request, server.open_chunked_request):
        with contextlib.suppress(FormatError, DecryptionError):
            opener(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([(1, 1), (1, 3), (1, 2), (3, 1)]), st.binary(max_size=200))
def test_request_open_with_a_valid_header_only_raises_our_errors(pair: tuple[int, int], rest: bytes) -> None:
    server = Server([_KEY])
    data = struct.pack(">BHHH", 1, 0x0020, *pair) + rest
    for opener in (server.open_request, server.open_chunked_request):
        with contextlib.suppress(FormatError, DecryptionError):
            opener(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_response_open_on_arbitrary_bytes_only_raises_our_errors(data: bytes, chunked: bool) -> None:
    if chunked:
        _, chunked_opener = ChunkedClientRequest(_KEY.config).seal_final(b"q")
        with contextlib.suppress(FormatError, DecryptionError):
            chunked_opener.open_all(data)
    else:
        _, opener = ClientRequest(_KEY.config).seal(b"q")
        with contextlib.suppress(FormatError, DecryptionError):
            opener.open(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=50), max_size=5), st.binary(max_size=50), st.data())
def test_chunked_request_survives_any_split(parts: list[bytes], last: bytes, data: st.DataObject) -> None:
    client = ChunkedClientRequest(_KEY.config)
    body = b"".join(client.seal_chunk(p) for p in parts)
    final, _ = client.seal_final(last)
    body += final
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=6)))
    reader = Server([_KEY]).chunked_request_reader()
    received: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        received += reader.feed(body[start:end])
    tail, _ = reader.finish()
    assert b"".join([*received, tail]) == b"".join([*parts, last])


_P256_SPKI = ReceiptKey("ES256").spki_der
_ED25519_SPKI = ReceiptKey("Ed25519").spki_der
_VALID = [_P256_SPKI, _ED25519_SPKI]


def _flip(key: bytes, at: int, mask: int) -> bytes:
    at %= len(key)
    return key[:at] + bytes([key[at] ^ mask]) + key[at + 1 :]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=120),
        # a valid prefix with arbitrary key bytes, and valid keys with one byte flipped
        st.binary(min_size=65, max_size=65).map(lambda b: _P256_SPKI[:-65] + b),
        st.binary(min_size=32, max_size=32).map(lambda b: _ED25519_SPKI[:-32] + b),
        st.builds(
            _flip, st.sampled_from([_P256_SPKI, _ED25519_SPKI]), st.integers(0, 90), st.integers(1, 255)
        ),
    ),
    st.binary(max_size=80),
)
def test_receipt_keys_from_arbitrary_spki_only_raise_format_error(spki: bytes, signature: bytes) -> None:
    try:
        algorithm = receipt_algorithm(spki)
    except FormatError as err:
        code = err.code
    else:
        assert algorithm in ("Ed25519", "ES256")
        assert receipt_verifier(spki)(b"message", signature) is False
        return
    assert code == "receipt.malformed"
