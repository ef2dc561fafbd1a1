"""The HTTP surface, all under `/api/v1` (docs/contracts.md).

`services.api.app.create_app()` builds the Starlette app. Each endpoint module serves one resource or
audience (`issues`, `phone`, `province`, …) and lists its endpoints in `routes`, declared with
`services.api.routing.endpoint` so that the OpenAPI document (`services.api.openapi`) is generated from
what the server really does. Endpoint modules share only the plumbing: `routing`, `auth` (who is calling,
what they may see), `errors`, `reading` (read endpoints), `writing` (command endpoints) and `filters`
(a table's filters, shared with its ledger); never another endpoint module.
"""
