"""The bundled JSON-Schema contracts, the vendor profiles' derived contracts and the derived OpenAPI
document of the control API."""

from mock_kling.apispec.bundle import SCHEMA_NAMES, schema, schema_dir, validator

__all__ = ["SCHEMA_NAMES", "schema", "schema_dir", "validator"]
