"""Named checks on answers: each raises a ContractViolation whose title names the broken rule."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, relevance

from mock_kling.apispec import derived
from mock_kling.contract.client.transport import Answer
from mock_kling.contract.reporting.findings import (
    Finding,
    media_finding,
    schema_finding,
    status_finding,
)
from mock_kling.core.errors import SERVICE_CODES

CONTRACT_OF = {"create": "create_response", "query": "query_response", "list": "list_response"}
AUTH_CODES = frozenset({1000, 1001, 1002, 1003, 1004})
PARAMETER_CODES = frozenset({1200, 1201})
UNKNOWN_RESOURCE_CODES = frozenset({1201, 1203})


class ContractViolation(AssertionError):
    """A target broke a rule; `check` names it (e.g. "query_response", "lifecycle.forward");
    `findings` are the differences it shows, for the report's list (default: the rule and the
    detail)."""

    def __init__(self, check: str, detail: str, findings: Iterable[Finding] = ()) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail
        self.findings = tuple(findings) or (Finding(f"{check}:{detail}", f"{check}: {detail}"),)

    def adding(self, *findings: Finding) -> ContractViolation:
        """The same violation with more findings first."""
        return ContractViolation(self.check, self.detail, (*findings, *self.findings))


def json_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def schema_errors(body: Any, contract: str, profile: str = "official", limit: int = 3) -> list[str]:
    """The contract's complaints about `body` (as vendor `profile` documents the contract), most
    relevant first, each with its JSON path."""
    return [
        f"at {json_path(e.absolute_path)}: {_describe(e)}"
        for e in _errors(body, contract, profile)[:limit]
    ]


def schema_findings(body: Any, contract: str, profile: str = "official") -> list[Finding]:
    """Every complaint of the contract about `body`, as findings."""
    return [
        schema_finding(contract, e, json_path(e.absolute_path))
        for e in _errors(body, contract, profile)
    ]


def check_conforms(body: Any, contract: str, where: str, profile: str = "official") -> None:
    errors = schema_errors(body, contract, profile)
    if errors:
        found = schema_findings(body, contract, profile)
        raise ContractViolation(contract, f"{where}: " + "; ".join(errors), found)


def _errors(body: Any, contract: str, profile: str) -> list[ValidationError]:
    return sorted(derived.validator(profile, contract).iter_errors(body), key=relevance)


def check_answer(answer: Answer, endpoint: str, where: str, profile: str = "official") -> None:
    """Any answer of an API endpoint: no 5xx, JSON, and the success or error contract with the
    HTTP status that Kling's table gives its code."""
    if answer.status >= 500:
        raise ContractViolation("server_error", f"{where}: {answer.describe()}: {_excerpt(answer)}")
    if answer.body is None:
        raise ContractViolation(
            "content_type",
            f"{where}: expected a JSON body, got {answer.describe()}: {_excerpt(answer)}",
            [media_finding(answer)],
        )
    if answer.mimetype != "application/json":
        raise ContractViolation(
            "content_type",
            f"{where}: expected Content-Type application/json, got {answer.describe()} "
            f"with the JSON body {_excerpt(answer)}",
            [media_finding(answer)],
        )
    if 200 <= answer.status < 300:
        check_conforms(answer.body, CONTRACT_OF[endpoint], where, profile)
        _check_status_of_code(answer, where)
    elif 400 <= answer.status < 500:
        check_conforms(answer.body, "error_response", where, profile)
        _check_status_of_code(answer, where)
    else:
        raise ContractViolation("http_status", f"{where}: unexpected {answer.describe()}")


def check_accepted(answer: Answer, where: str, profile: str = "official") -> None:
    """A valid create request: HTTP 200, code 0, the create contract."""
    check_answer(answer, "create", where, profile)
    if answer.status != 200:
        raise ContractViolation(
            "accepted",
            f"{where}: a valid request was refused: {answer.describe()}: {_message(answer)}",
        )


def check_refused(
    answer: Answer,
    endpoint: str,
    where: str,
    codes: Collection[int],
    what: str = "an invalid request",
    profile: str = "official",
) -> None:
    """An invalid request: never 2xx, never 5xx; a 4xx error envelope with a code of `codes`."""
    if answer.status < 300:
        raise ContractViolation(
            "refused",
            f"{where}: accepted {what}: {answer.describe()}",
            [Finding(f"refused:{endpoint}:{what}", f"{endpoint} accepts {what}", where)],
        )
    statuses = sorted({SERVICE_CODES[c].http_status for c in codes if c in SERVICE_CODES})
    wrong = (
        [status_finding(answer, what, statuses[0], _alternatives(codes))]
        if len(statuses) == 1 and answer.status != statuses[0]
        else []
    )
    try:
        check_answer(answer, endpoint, where, profile)
    except ContractViolation as violation:
        raise violation.adding(*wrong) from None
    if answer.code not in codes:
        raise ContractViolation(
            "error_code",
            f"{where}: expected code {_alternatives(codes)}, got {answer.describe()}: "
            f"{_message(answer)}",
            wrong,
        )


def _check_status_of_code(answer: Answer, where: str) -> None:
    row = SERVICE_CODES.get(answer.code)
    if row is not None and row.http_status != answer.status:
        raise ContractViolation(
            "status_of_code",
            f"{where}: code {answer.code} goes with HTTP {row.http_status} in Kling's table, "
            f"got HTTP {answer.status}",
            [
                Finding(
                    f"status_of_code:{answer.code}:{answer.status}",
                    f"code {answer.code} comes with HTTP {answer.status}, not {row.http_status}",
                )
            ],
        )


def _describe(error: ValidationError) -> str:
    if error.validator == "not":
        return f"must not be valid under {_short(json.dumps(error.validator_value), 120)}"
    text, shown = error.message, repr(error.instance)
    if len(shown) > 60:
        text = text.replace(shown, _short(shown, 60))
    return _short(text)


def _alternatives(codes: Collection[int]) -> str:
    return " or ".join(str(code) for code in sorted(codes))


def _message(answer: Answer) -> str:
    body = answer.body
    return _short(str(body.get("message", ""))) if isinstance(body, dict) else _excerpt(answer)


def _excerpt(answer: Answer) -> str:
    return _short(answer.raw[:200].decode("utf-8", errors="replace"))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
