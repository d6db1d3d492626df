"""Who the suite is: Kling's JWT minted per request from an access/secret key pair (as Kling's
docs build it), or a reseller's plain bearer key; and deliberately broken tokens for auth checks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jwt

TOKEN_TTL_S = 1800  # the docs' example: exp = now + 1800, nbf = now - 5
HS256_KEY_BYTES = 32  # RFC 7518 3.2: an HS256 key has at least 256 bits
# PyJWT warns about a shorter key since 2.10; older versions do not warn at all.
_SHORT_KEY_WARNING: type[Warning] = getattr(jwt, "InsecureKeyLengthWarning", UserWarning)


@dataclass(frozen=True)
class Credentials:
    """Either access_key + secret_key (JWT) or api_key (plain bearer key)."""

    access_key: str | None = None
    secret_key: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        pair = self.access_key is not None and self.secret_key is not None
        if pair == (self.api_key is not None):
            raise ValueError("give an access key with its secret key, or an API key (one of both)")

    @property
    def kind(self) -> str:
        return "api-key" if self.api_key is not None else "jwt"

    @property
    def uses_jwt(self) -> bool:
        return self.kind == "jwt"

    def token(self, now_s: float) -> str:
        """A fresh token for a request made at `now_s` (Unix seconds)."""
        if self.api_key is not None:
            return self.api_key
        return self.jwt(exp=now_s + TOKEN_TTL_S, nbf=now_s - 5)

    def short_secret_note(self) -> str | None:
        """A note for the report when the secret is shorter than HS256 wants, else None."""
        if self.secret_key is None or len(self.secret_key.encode()) >= HS256_KEY_BYTES:
            return None
        return (
            f"the secret key has {len(self.secret_key.encode())} bytes, fewer than the "
            f"{HS256_KEY_BYTES} HS256 wants (RFC 7518 3.2); the suite signs with it all the same"
        )

    def header(self, now_s: float) -> str:
        return f"Bearer {self.token(now_s)}"

    def jwt(self, *, exp: float | None, nbf: float | None, secret: str | None = None) -> str:
        """An HS256 JWT with chosen claims (None leaves a claim out) and signing secret."""
        payload: dict[str, object] = {"iss": self.access_key}
        if exp is not None:
            payload["exp"] = int(exp)
        if nbf is not None:
            payload["nbf"] = int(nbf)
        key = secret if secret is not None else self.secret_key
        if key is None:
            raise ValueError("an API key cannot sign a JWT")
        with warnings.catch_warnings():  # a short secret is the target's choice, not a failure
            warnings.simplefilter("ignore", _SHORT_KEY_WARNING)
            return jwt.encode(payload, key, algorithm="HS256", headers={"typ": "JWT"})
