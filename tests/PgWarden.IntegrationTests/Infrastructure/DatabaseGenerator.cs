using System.Globalization;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// Builds a database with the features that broke, or could break, a backup's round trip: text forms
/// that depend on session settings (date, timestamp(tz), interval, float4/8, numeric, money) under
/// non-default database settings; database and schema ACLs; a role used only in grants; large
/// objects; partitions; inheritance; generated and identity columns; an unlogged table; a
/// materialized view; a tablespace (optional); non-ASCII and mixed-case names; bytea, jsonb,
/// arrays, tsvector, an enum, a domain, a policy, default privileges. Values come from the server's
/// random() after setseed(seed): the same seed gives the same database. <see cref="Rows"/> scales it.
/// </summary>
public sealed record DatabaseGenerator(int Seed, int Rows, string? Tablespace = null)
{
    public const string OwnerRole = "rt_owner";
    public const string GrantOnlyRole = "rt_reader";

    /// <summary>Run as the superuser on the postgres database (roles are cluster-wide; re-running is harmless).</summary>
    public string RolesSql => $"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OwnerRole}') THEN CREATE ROLE {OwnerRole} NOLOGIN; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{GrantOnlyRole}') THEN CREATE ROLE {GrantOnlyRole} NOLOGIN; END IF;
        END $$;
        """;

    /// <summary>Run as the superuser on the postgres database, after <see cref="RolesSql"/>.</summary>
    public string CreateDatabaseSql(string database) => $"""
        CREATE DATABASE {database} OWNER {OwnerRole} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' CONNECTION LIMIT 40;
        COMMENT ON DATABASE {database} IS 'round trip, seed {Seed} — ünïcødé';
        ALTER DATABASE {database} SET datestyle = 'SQL, DMY';
        ALTER DATABASE {database} SET intervalstyle = 'sql_standard';
        ALTER DATABASE {database} SET extra_float_digits = 0;
        ALTER DATABASE {database} SET search_path = "Ünï Schema", public;
        ALTER ROLE {GrantOnlyRole} IN DATABASE {database} SET work_mem = '8MB';
        REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC;
        GRANT CONNECT ON DATABASE {database} TO {GrantOnlyRole};
        """;

    /// <summary>Run as the superuser in the new database.</summary>
    public string ContentSql()
    {
        var n = Rows.ToString(CultureInfo.InvariantCulture);
        var seed = (Seed % 1000 / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
        var ts = Tablespace is null ? "" : $" TABLESPACE {Tablespace}";
        return $$"""
            SELECT setseed({{seed}});
            CREATE SCHEMA "Ünï Schema" AUTHORIZATION {{OwnerRole}};
            GRANT USAGE ON SCHEMA "Ünï Schema" TO {{GrantOnlyRole}};
            ALTER DEFAULT PRIVILEGES FOR ROLE {{OwnerRole}} IN SCHEMA "Ünï Schema" GRANT SELECT ON TABLES TO {{GrantOnlyRole}};
            CREATE TYPE "Ünï Schema".mood AS ENUM ('sad', 'ok', 'häppy');
            CREATE DOMAIN "Ünï Schema".positive AS numeric CHECK (VALUE > 0);
            CREATE TABLE "Ünï Schema"."Wide Täble" (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              d date, ts timestamp, tstz timestamptz, iv interval, f4 real, f8 double precision, num numeric(18,6),
              cash money, bin bytea, doc jsonb, arr int[], words tsvector, m "Ünï Schema".mood, pos "Ünï Schema".positive,
              t text, twice bigint GENERATED ALWAYS AS (id * 2) STORED
            ){{ts}};
            INSERT INTO "Ünï Schema"."Wide Täble" (d, ts, tstz, iv, f4, f8, num, cash, bin, doc, arr, words, m, pos, t)
            SELECT date '2000-01-01' + (random() * 9000)::int,
                   timestamp '2000-01-01' + random() * interval '9000 days',
                   timestamptz '2000-01-01 00:00:00+00' + random() * interval '9000 days',
                   make_interval(years => -(random() * 3)::int, months => (random() * 11)::int, days => (random() * 40)::int - 20, secs => random() * 86400 - 43200),
                   (random() * 1000)::real, random() * 1e6 - 5e5, round((random() * 1e6)::numeric, 6),
                   (random() * 10000)::numeric(12,2)::money, decode(md5(g::text || random()::text), 'hex'),
                   jsonb_build_object('k', g, 's', E'q"\t\\ ✓', 'f', random()), ARRAY[g, (random() * 100)::int, NULL],
                   to_tsvector('simple', 'wörd ' || g || ' ' || md5(g::text)), (ARRAY['sad', 'ok', 'häppy'])[1 + g % 3]::"Ünï Schema".mood,
                   1 + (random() * 100)::numeric(10,3),
                   CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN E'tab\there\nnew line\\back' WHEN 2 THEN E'\\.' ELSE repeat(md5(g::text), 12) END
            FROM generate_series(1, {{n}}) g;
            ALTER TABLE "Ünï Schema"."Wide Täble" OWNER TO {{OwnerRole}};
            GRANT SELECT ON "Ünï Schema"."Wide Täble" TO {{GrantOnlyRole}};
            ALTER TABLE "Ünï Schema"."Wide Täble" ENABLE ROW LEVEL SECURITY;
            CREATE POLICY readers ON "Ünï Schema"."Wide Täble" FOR SELECT TO {{GrantOnlyRole}} USING (id % 2 = 0);

            -- Plainly named and over 1 MB: read in slices beside pg_dump (--slice-mb 1), with every settings-dependent type.
            CREATE TABLE public.measurements (id int PRIMARY KEY, d date, ts timestamp, tstz timestamptz, iv interval, f4 real, f8 double precision,
                                              num numeric, cash money, pad text, twice int GENERATED ALWAYS AS (id * 2) STORED);
            INSERT INTO public.measurements (id, d, ts, tstz, iv, f4, f8, num, cash, pad)
            SELECT g, date '2000-01-01' + (random() * 9000)::int, timestamp '2000-01-01' + random() * interval '9000 days',
                   timestamptz '2000-01-01 00:00:00+00' + random() * interval '9000 days',
                   make_interval(years => -(random() * 3)::int, months => (random() * 11)::int, days => (random() * 40)::int - 20, secs => random() * 86400 - 43200),
                   (random() * 1000)::real, random() * 1e6 - 5e5, (random() * 1e6)::numeric, (random() * 10000)::numeric(12,2)::money, repeat(md5(g::text), 8)
            FROM generate_series(1, {{n}}) g;
            ALTER TABLE public.measurements OWNER TO {{OwnerRole}};
            GRANT SELECT ON public.measurements TO {{GrantOnlyRole}};

            CREATE TABLE public.events (id int, at date NOT NULL, v float8) PARTITION BY RANGE (at);
            CREATE TABLE public.events_old PARTITION OF public.events FOR VALUES FROM (MINVALUE) TO ('2010-01-01');
            CREATE TABLE public.events_new PARTITION OF public.events FOR VALUES FROM ('2010-01-01') TO (MAXVALUE);
            INSERT INTO public.events SELECT g, date '2000-01-01' + (random() * 9000)::int, random() FROM generate_series(1, {{n}} / 2) g;
            CREATE TABLE public.parent (id int, note text);
            CREATE TABLE public.child (extra float4) INHERITS (public.parent);
            INSERT INTO public.parent SELECT g, 'p' || g FROM generate_series(1, 50) g;
            INSERT INTO public.child SELECT g, 'c' || g, random() FROM generate_series(1, 50) g;
            CREATE UNLOGGED TABLE public.scratch_cache (k text PRIMARY KEY, v interval);
            INSERT INTO public.scratch_cache SELECT 'k' || g, g * interval '1 hour 2 minutes' FROM generate_series(1, 100) g;
            CREATE TABLE public."MixedCase" ("Id" serial PRIMARY KEY, "Näme" text, ref bigint REFERENCES "Ünï Schema"."Wide Täble" (id));
            INSERT INTO public."MixedCase" ("Näme", ref) SELECT 'näme ' || g, g FROM generate_series(1, 100) g;
            CREATE MATERIALIZED VIEW public.mood_counts AS SELECT m, count(*) AS c FROM "Ünï Schema"."Wide Täble" GROUP BY m;
            CREATE INDEX ON "Ünï Schema"."Wide Täble" (d);
            CREATE INDEX ON "Ünï Schema"."Wide Täble" USING gin (words);
            CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW."Näme" := upper(NEW."Näme"); RETURN NEW; END $f$;
            CREATE TRIGGER touch BEFORE INSERT ON public."MixedCase" FOR EACH ROW EXECUTE FUNCTION public.touch();
            CREATE SEQUENCE public.ticket START 1000;
            SELECT nextval('public.ticket') FROM generate_series(1, 7);
            SELECT lo_from_bytea(0, decode(repeat(md5(g::text), 100), 'hex')) FROM generate_series(1, 5) g;
            COMMENT ON TABLE public.events IS 'partitioned';
            """;
    }
}
