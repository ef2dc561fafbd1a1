"""The read side of Grassroots: read models kept current from every county's events.

`driver.run_driver` follows the counties (exactly once, in batches); `rebuild` replays them into
fresh tables; `registry.PROJECTIONS` lists the read models; each read model module (`verdicts`,
`coverage`, `completeness`, …) holds its tables, its event handlers and its `as_of` queries.
"""
