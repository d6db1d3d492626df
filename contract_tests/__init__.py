"""The contract suite: Kling's multi-image2video contracts checked against a fake or a real API."""
