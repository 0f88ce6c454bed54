"""Coverage-guided fuzzing of the sealed channel's parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_bhttp.py -runs=100000`` (add a corpus directory to keep
findings). Targets, chosen by the first input byte: Binary HTTP decode (a decoded message must
re-encode to one that decodes the same), ``application/ohttp-keys`` decode, OHTTP request open and
chunked request open with a fixed gateway key. Any exception other than our FormatError /
DecryptionError is a crash; committed crashers become regression tests in tests/unit/channel.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.bhttp import Request, decode_message, encode_request, encode_response
    from attestgw.errors import DecryptionError, FormatError
    from attestgw.ohttp import ReplayWindow, Server, ServerKey, decode_key_configs

# Fixed for the whole run so that the fuzzer can learn the key id and suite bytes.
_SERVER = Server([ServerKey.generate(1)], replay_window=ReplayWindow(max_entries=16))


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 4, data[1:]
    try:
        if selector == 0:
            message = decode_message(payload)
            again = encode_request(message) if isinstance(message, Request) else encode_response(message)
            if decode_message(again) != message:
                raise AssertionError("Binary HTTP round trip changed the message")
        elif selector == 1:
            decode_key_configs(payload)
        elif selector == 2:
            _SERVER.open_request(payload)
        else:
            _SERVER.open_chunked_request(payload)
    except (FormatError, DecryptionError):
        return


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
