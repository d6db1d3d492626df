"""Who is calling: Kling's HS256 JWT (iss = access key) or a reseller's plain bearer key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_kling.core.clock import Clock, ManualClock, SystemClock
from mock_kling.core.errors import KlingError

if TYPE_CHECKING:  # PyJWT (and cryptography) load on the first token, not at start-up
    pass

MAX_TOKEN_CHARS = 8192  # Kling's tokens have ~150; 8 KiB is a common gateway's header line limit
_VERIFIED_LIMIT = 10_000  # tokens whose signature was checked, kept so clients' reuse is cheap
_PLAIN_KEY_TO_JWT_PROFILE = (
    "Authorization token is not a JWT and not a known API key: Kling's official API takes a JWT "
    "(HS256, iss = access key, signed with the secret key; `mock-kling token` makes one); a "
    "plain key works when the fake is started with --api-key KEY or a reseller --profile"
)
_JWT_TO_KEY_PROFILE = (
    "this vendor profile takes a plain API key (one given with --api-key), not a JWT; "
    "start the fake with --profile official to use JWTs"
)


@dataclass(frozen=True)
class Account:
    """One caller that owns tasks: an access/secret key pair, or a plain API key. Its id is the
    access key or the API key."""

    account_id: str
    access_key: str | None = None
    secret_key: str | None = None
    api_key: str | None = None


class Accounts:
    """The accounts the fake knows, looked up from an Authorization header."""

    def __init__(
        self,
        key_pairs: dict[str, str] | None = None,
        api_keys: list[str] | None = None,
        jwt: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._jwt = jwt
        self._manual = isinstance(clock, ManualClock)
        self._verified: dict[str, tuple[Account, dict[str, Any]]] = {}
        self._by_access_key = {
            ak: Account(ak, access_key=ak, secret_key=sk) for ak, sk in (key_pairs or {}).items()
        }
        self._by_api_key = {key: Account(key, api_key=key) for key in api_keys or []}

    def all(self) -> list[Account]:
        return [*self._by_access_key.values(), *self._by_api_key.values()]

    def authenticate(self, header: str | None, now_ms: int) -> Account:
        """Return the caller's account, or raise KlingError 1001-1004 as Kling does."""
        if header is None or not header.strip():
            raise KlingError(1001, "Authorization header is missing or empty")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or token != token.strip():
            raise KlingError(1002, "Authorization must be 'Bearer <token>' with exactly one space")
        if token in self._by_api_key:
            return self._by_api_key[token]
        looks_like_jwt = token.count(".") == 2
        if not self._jwt:
            hint = _JWT_TO_KEY_PROFILE if looks_like_jwt else "unknown API key"
            raise KlingError(1002, f"Authorization token is invalid: {hint}")
        if not looks_like_jwt:
            raise KlingError(1002, _PLAIN_KEY_TO_JWT_PROFILE)
        return self._verify_jwt(token, now_ms)

    def _verify_jwt(self, token: str, now_ms: int) -> Account:
        import jwt

        known = self._verified.get(token)
        if known is not None:  # signature checked before; the times depend on the clock
            _check_times(known[1], *self._token_times(now_ms))
            return known[0]
        if len(token) > MAX_TOKEN_CHARS:
            raise KlingError(
                1002,
                f"Authorization token is too long ({len(token)} characters; "
                f"at most {MAX_TOKEN_CHARS})",
            )
        account = self._by_access_key.get(_unverified_issuer(token))
        if account is None or account.secret_key is None:
            raise KlingError(1002, "Authorization token is invalid: unknown access key (iss)")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                account.secret_key,
                algorithms=["HS256"],
                # exp and nbf are checked below on the fake's clock; PyJWT would check iat on
                # the real one (a manual clock set ahead would refuse fresh tokens)
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError as exc:
            raise KlingError(1002, f"Authorization token is invalid: {exc}") from None
        _check_times(claims, *self._token_times(now_ms))
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified.clear()
        self._verified[token] = (account, claims)
        return account

    def _token_times(self, now_ms: int) -> tuple[float, float]:
        """The times (s) that `exp` and `nbf` are checked against. Under a manual clock `nbf`
        meets the later of the fake clock and real time: clients that stamp `nbf = now - 5` by
        their own clock (as Kling's docs do) keep working while the fake's time stands still,
        and `exp` stays on the fake clock, so advancing it past `exp` still expires a token."""
        if not self._manual:
            return now_ms / 1000, now_ms / 1000
        return now_ms / 1000, max(now_ms, SystemClock().now_ms()) / 1000


def _unverified_issuer(token: str) -> str:
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise KlingError(1002, f"Authorization token is not a valid JWT: {exc}") from None
    if header.get("alg") != "HS256":
        raise KlingError(
            1002, f"Authorization token must be signed with HS256 (got alg {header.get('alg')!r})"
        )
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise KlingError(1002, "Authorization token has no iss claim (the access key)")
    return issuer


def _check_times(claims: dict[str, Any], now_s: float, nbf_now_s: float) -> None:
    nbf, exp = claims.get("nbf"), claims.get("exp")
    for name, value in (("nbf", nbf), ("exp", exp)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise KlingError(1002, f"Authorization token claim {name} must be a number")
    if nbf is not None and nbf_now_s < nbf:
        raise KlingError(
            1003, f"Authorization token is not valid yet (nbf {nbf} > now {nbf_now_s:.0f})"
        )
    if exp is not None and now_s >= exp:
        raise KlingError(1004, f"Authorization token has expired (exp {exp} <= now {now_s:.0f})")


def make_token(access_key: str, secret_key: str, now_s: float, ttl_s: int = 1800) -> str:
    """A token exactly as Kling's docs build one: iss = AK, exp = now + ttl, nbf = now - 5."""
    import jwt

    payload = {"iss": access_key, "exp": int(now_s) + ttl_s, "nbf": int(now_s) - 5}
    return jwt.encode(payload, secret_key, algorithm="HS256", headers={"typ": "JWT"})
