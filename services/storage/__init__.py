"""Storage: where the database is (`database`), the county schemas (`schemas`) and the event recorder
every county shares one connection pool through (`recorder`). See docs/contracts.md, "Database layout".
"""
