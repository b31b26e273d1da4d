#!/usr/bin/python3
"""Test-time keys and tokens for the integration tests (never committed).

  tasker_tokens.py keys DIR          create DIR/{rsa,rsa2,ec256,ec384,ed25519}-{private,public}.pem,
                                     rsa-pkcs1-public.pem, rsa1024-public.pem, ec224-public.pem and
                                     jwks.json (rsa + ec256 + ed25519 with kids) unless present
  tasker_tokens.py mint DIR < SPEC   SPEC is a JSON object {name: token-spec}; prints {name: token}

A token-spec: {"key": "rsa", "alg": "RS256", "claims": {...overrides...}, "drop": ["exp"],
"header": {...extra header members...}, "raw_header": "...", "raw_claims": "...",
"tamper": true, "segments": "..."}. Default claims are valid for the module's defaults.
Uses Debian's python3-jwt and python3-cryptography, an independent implementation of JWS, so
the module is checked against someone else's signer.
"""
import base64
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

KEYS = {
    "rsa": lambda: rsa.generate_private_key(65537, 2048),
    "rsa2": lambda: rsa.generate_private_key(65537, 2048),
    "ec256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ec521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": lambda: ed25519.Ed25519PrivateKey.generate(),
}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def load_private(d, name):
    with open(os.path.join(d, name + "-private.pem"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def jwk_for(pub, kid):
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        size = (n.n.bit_length() + 7) // 8
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64(n.n.to_bytes(size, "big")), "e": b64(n.e.to_bytes(3, "big"))}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        n = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {256: "P-256", 384: "P-384", 521: "P-521"}[pub.curve.key_size]
        return {"kty": "EC", "kid": kid, "use": "sig", "crv": crv,
                "x": b64(n.x.to_bytes(size, "big")), "y": b64(n.y.to_bytes(size, "big"))}
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "kid": kid, "use": "sig", "crv": "Ed25519", "x": b64(raw)}


def make_keys(d):
    os.makedirs(d, exist_ok=True)
    for name, gen in KEYS.items():
        priv_path = os.path.join(d, name + "-private.pem")
        if os.path.exists(priv_path):
            continue
        key = gen()
        write(priv_path, key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), 0o600)
        write(os.path.join(d, name + "-public.pem"),
              key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    rsa_pub = load_private(d, "rsa").public_key()
    write(os.path.join(d, "rsa-pkcs1-public.pem"),
          rsa_pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    small = os.path.join(d, "rsa1024-public.pem")
    if not os.path.exists(small):
        write(small, rsa.generate_private_key(65537, 1024).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    ec224 = os.path.join(d, "ec224-public.pem")
    if not os.path.exists(ec224):
        write(ec224, ec.generate_private_key(ec.SECP224R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    write(os.path.join(d, "garbage.pem"), b"-----BEGIN PUBLIC KEY-----\nnot a key\n"
          b"-----END PUBLIC KEY-----\n")
    keys = [jwk_for(load_private(d, n).public_key(), "kid-" + n)
            for n in ("rsa", "ec256", "ed25519")]
    write(os.path.join(d, "jwks.json"), json.dumps({"keys": keys}).encode())
    write(os.path.join(d, "jwks-rsa2.json"), json.dumps(
        {"keys": [jwk_for(load_private(d, "rsa2").public_key(), "kid-rsa2")]}).encode())


def default_claims():
    now = int(time.time())
    return {"sub": "alice@example.com", "iss": "tasker-core", "aud": "tasker-api",
            "iat": now, "exp": now + 3600,
            "permissions": ["tasks:create", "tasks:read", "tasks:list"]}


def raw_sign(key, alg, signing_input):
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), getattr(hashes, "SHA" + alg[2:])())
    if alg.startswith("PS"):
        h = getattr(hashes, "SHA" + alg[2:])()
        return key.sign(signing_input, padding.PSS(padding.MGF1(h), h.digest_size), h)
    if alg.startswith("ES"):
        h = getattr(hashes, "SHA" + alg[2:])()
        r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(h)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(signing_input)
    if alg.startswith("HS"):
        import hmac
        import hashlib
        return hmac.new(b"secret", signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    if alg == "none":
        return b""
    raise ValueError(alg)


def mint_one(d, spec):
    if "segments" in spec:
        return spec["segments"]
    key_name = spec.get("key", "rsa")
    alg = spec.get("alg", {"rsa": "RS256", "rsa2": "RS256", "ec256": "ES256", "ec384": "ES384",
                           "ec521": "ES512", "ed25519": "EdDSA"}[key_name])
    claims = default_claims()
    claims.update(spec.get("claims", {}))
    for k in spec.get("drop", []):
        claims.pop(k, None)
    header = {"alg": alg, "typ": "JWT"}
    header.update(spec.get("header", {}))
    h = spec.get("raw_header", json.dumps(header, separators=(",", ":")))
    c = spec.get("raw_claims", json.dumps(claims, separators=(",", ":")))
    signing_input = (b64(h.encode()) + "." + b64(c.encode())).encode()
    if spec.get("pyjwt") and "raw_header" not in spec and "raw_claims" not in spec:
        # the plain path through PyJWT itself, for the everyday tokens
        token = jwt.encode(claims, load_private(d, key_name), algorithm=alg,
                           headers=spec.get("header"))
        return token if isinstance(token, str) else token.decode()
    sig = raw_sign(load_private(d, key_name), alg, signing_input)
    if spec.get("tamper"):
        sig = bytes([sig[0] ^ 0x01]) + sig[1:]
    return signing_input.decode() + "." + b64(sig)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("keys", "mint"):
        sys.stderr.write(__doc__)
        return 2
    d = sys.argv[2]
    if sys.argv[1] == "keys":
        make_keys(d)
        return 0
    specs = json.load(sys.stdin)
    json.dump({name: mint_one(d, spec) for name, spec in specs.items()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
