-- Turn each county schema into a distributed schema (Citus >= 12, schema-based sharding).
-- Run on the COORDINATOR, after `CREATE EXTENSION citus` and adding the workers.
-- A county schema becomes one single-shard group on one worker; tables created later in it follow it.

-- Shared tables: small and read everywhere -> reference tables.
SELECT create_reference_table('core.counties');
SELECT create_reference_table('core.users');
SELECT create_reference_table('core.sessions');
-- Departments: the issue ledger joins a county's issues with its departments' names (a hash join).
SELECT create_reference_table('core.departments');

-- Every county schema that exists now:
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^county_[0-9]{6}$' LOOP
    PERFORM citus_schema_distribute(s);
  END LOOP;
END $$;

-- New counties: provision them with schema-based sharding switched on for that session, e.g.
--   SET citus.enable_schema_based_sharding = on;  (then `grassroots county add …` creates the schema)
