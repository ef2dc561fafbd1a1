"""The HTTP surface, all under `/api/v1` (docs/contracts.md).

`services.api.app.create_app()` builds the Starlette app; each module here serves one part and lists
its endpoints in `routes`, declared with `services.api.routing.endpoint` so that the OpenAPI document
(`services.api.openapi`) is generated from what the server really does. Errors: `services.api.errors`;
who is calling: `services.api.auth`.
"""
