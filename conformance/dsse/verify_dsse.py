#!/usr/bin/python3
"""Independent DSSE v1 check: rebuilds the PAE and verifies Ed25519 signatures with `cryptography` (OpenSSL).

Usage: /usr/bin/python3 verify_dsse.py <envelope.json> <public-key-hex> [<public-key-hex> ...]

Exit 0 when at least one signature of the envelope verifies under one of the given public keys (each key counted
once); 1 when none does or the envelope is malformed; 2 for a usage error or when `cryptography` is missing
(Debian: apt-get install python3-cryptography; run with /usr/bin/python3, not a pyenv python).
Shares no code with the TypeScript implementation. Normative text: spec/proof-of-fold.md, DSSE.
"""
import base64
import binascii
import json
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as e:  # pragma: no cover
    print(f"verify_dsse: the python3-cryptography package is missing ({e}); "
          "install it (apt-get install -y python3-cryptography) and run /usr/bin/python3", file=sys.stderr)
    sys.exit(2)


def b64(text):
    """Strict standard base64: padded, alphabet A-Za-z0-9+/, and the one spelling of its bytes."""
    if not isinstance(text, str):
        raise ValueError("base64 field is not a string")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("base64 is not in its canonical form")
    return raw


def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as f:
            env = json.loads(f.read().decode("utf-8"))
        if not isinstance(env, dict) or set(env) != {"payloadType", "payload", "signatures"}:
            raise ValueError("envelope must have exactly payloadType, payload, signatures")
        if not isinstance(env["payloadType"], str) or not isinstance(env["signatures"], list):
            raise ValueError("payloadType must be a string and signatures a list")
        payload = b64(env["payload"])
        keys = [Ed25519PublicKey.from_public_bytes(bytes.fromhex(k)) for k in argv[2:]]
    except (OSError, ValueError, binascii.Error, UnicodeError) as e:
        print(f"verify_dsse: malformed input: {e}", file=sys.stderr)
        return 1
    msg = pae(env["payloadType"], payload)
    used = set()
    for i, s in enumerate(env["signatures"]):
        try:
            if not isinstance(s, dict) or set(s) != {"keyid", "sig"}:
                raise ValueError("a signature must have exactly keyid and sig")
            sig = b64(s["sig"])
        except (ValueError, binascii.Error) as e:
            print(f"verify_dsse: signatures[{i}]: {e}", file=sys.stderr)
            return 1
        for j, key in enumerate(keys):
            if j in used:
                continue
            try:
                key.verify(sig, msg)
            except InvalidSignature:
                continue
            used.add(j)
            print(f"ok: signatures[{i}] (keyid {s['keyid']}) verifies with key {argv[2 + j]}")
            break
    if not used:
        print("verify_dsse: no signature verifies", file=sys.stderr)
        return 1
    print(f"payloadType: {env['payloadType']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
