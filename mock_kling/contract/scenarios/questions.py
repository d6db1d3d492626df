"""What Kling's public API reference (Multi-Image to Video; General Information) leaves open and
the suite observes, by number."""

from __future__ import annotations

QUESTIONS: dict[str, str] = {
    "q1": "Unknown task_id on the single query: HTTP status, code, message",
    "q2": "Unknown external_task_id on the single query",
    "q3": "Duplicate external_task_id on create: refused (how) or accepted",
    "q4": "HTTP status of parameter errors (always 400/1201?)",
    "q5": "Image-rule violations: refused at submit, or a failed task later",
    "q6": "image_list bounds: 0 or 1 image, 5 images",
    "q7": "Wrong types and enums: numeric duration, unknown model_name (1201 or 1203)",
    "q8": "Prompt: empty, over 2500 characters",
    "q9": "Unknown extra fields (cfg_scale, static_mask) and the legacy model field",
    "q10": "Create response: task_info present, request_id present",
    "q11": "Success message: always SUCCEED",
    "q12": "Watermark fields when watermarking is off",
    "q13": "final_unit_deduction: type and value",
    "q14": "List: order, out-of-range paging, pageNum past the end",
    "q15": "Callback: method, Content-Type, headers, which transitions, body fields",
    "q16": "Auth: codes and messages for missing, malformed, expired, not-yet-valid tokens",
    "q17": "Error bodies: data absent or null",
    "q18": "Expired media after 30 days (not probed: it takes 30 days)",
    "q19": "Proxies: bodies passed through unchanged (compare two runs' reports)",
}
