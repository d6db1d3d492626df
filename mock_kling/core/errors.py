"""Kling's service-code table and the one exception type that carries a code to the client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceCode:
    """One row of Kling's published error table."""

    code: int
    http_status: int
    meaning: str


_TABLE = (
    ServiceCode(0, 200, "Success"),
    ServiceCode(1000, 401, "Authentication failed"),
    ServiceCode(1001, 401, "Authorization is empty"),
    ServiceCode(1002, 401, "Authorization is invalid"),
    ServiceCode(1003, 401, "Authorization is not yet valid"),
    ServiceCode(1004, 401, "Authorization has expired"),
    ServiceCode(1100, 429, "Account exception"),
    ServiceCode(1101, 429, "Account in arrears (postpaid)"),
    ServiceCode(1102, 429, "Resource pack depleted or expired (prepaid)"),
    ServiceCode(1103, 403, "Unauthorized access to requested resource, such as API/model"),
    ServiceCode(1200, 400, "Invalid request parameters"),
    ServiceCode(1201, 400, "Invalid parameters, such as incorrect key or illegal value"),
    ServiceCode(1202, 404, "The requested method is invalid"),
    ServiceCode(1203, 404, "The requested resource does not exist, such as the model"),
    ServiceCode(1300, 400, "Trigger strategy of the platform"),
    ServiceCode(1301, 400, "Trigger the content security policy of the platform"),
    ServiceCode(1302, 429, "The API request is too fast, exceeding the platform's rate limit"),
    ServiceCode(1303, 429, "Concurrency or QPS exceeds the prepaid resource package limit"),
    ServiceCode(1304, 429, "Trigger the platform's IP whitelisting policy"),
    ServiceCode(5000, 500, "Server internal error"),
    ServiceCode(5001, 503, "Server temporarily unavailable, usually due to maintenance"),
    ServiceCode(5002, 504, "Server internal timeout, usually due to a backlog"),
)

SERVICE_CODES: dict[int, ServiceCode] = {row.code: row for row in _TABLE}


class KlingError(Exception):
    """A refusal with a Kling service code, rendered as {code, message, request_id}."""

    def __init__(self, code: int, message: str) -> None:
        if code not in SERVICE_CODES or code == 0:
            raise ValueError(f"{code} is not a Kling error code")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return SERVICE_CODES[self.code].http_status

    def __repr__(self) -> str:
        return f"KlingError({self.code}, {self.message!r})"
