namespace PgWarden.Postgres.Schema;

/// <summary>The BookReader application's tables and the runbook's indexes.</summary>
public static class BookReaderSchema
{
    public const int Version = 1;

    /// <summary>Tables in dependency order; every statement is idempotent.</summary>
    public static readonly string[] Tables =
    [
        """
        CREATE TABLE IF NOT EXISTS users (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email           text NOT NULL UNIQUE,
            password_hash   text NOT NULL,
            display_name    text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS books (
            id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            title               text NOT NULL,
            author              text,
            file_path           text,
            processing_status   text NOT NULL DEFAULT 'pending'
                                CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed')),
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS chapters (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            book_id         bigint NOT NULL REFERENCES books(id) ON DELETE CASCADE,
            chapter_number  integer NOT NULL CHECK (chapter_number > 0),
            title           text,
            content         text,
            word_count      integer,
            created_at      timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS descriptions (
            id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            chapter_id          bigint NOT NULL REFERENCES chapters(id) ON DELETE CASCADE,
            description_type    text NOT NULL,
            content             text NOT NULL,
            priority_score      real,
            has_generated_image boolean NOT NULL DEFAULT false,
            created_at          timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS generated_images (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            description_id  bigint NOT NULL REFERENCES descriptions(id) ON DELETE CASCADE,
            status          text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'generating', 'completed', 'failed')),
            prompt          text,
            image_url       text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS reading_progress (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            book_id         bigint NOT NULL REFERENCES books(id) ON DELETE CASCADE,
            chapter_number  integer NOT NULL DEFAULT 1,
            position        integer NOT NULL DEFAULT 0,
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS subscriptions (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            plan        text NOT NULL,
            is_active   boolean NOT NULL DEFAULT true,
            started_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz
        )
        """,
    ];

    /// <summary>Exactly the runbook's indexes: name, table, and the definition after "ON table".</summary>
    public static readonly IndexSpec[] Indexes =
    [
        new("idx_books_user_id", "books", "(user_id)"),
        new("idx_books_status", "books", "(processing_status)"),
        new("idx_books_created_at", "books", "(created_at DESC)"),
        new("idx_chapters_book_id", "chapters", "(book_id)"),
        new("idx_chapters_chapter_number", "chapters", "(book_id, chapter_number)"),
        new("idx_descriptions_chapter_id", "descriptions", "(chapter_id)"),
        new("idx_descriptions_type", "descriptions", "(description_type)"),
        new("idx_descriptions_has_image", "descriptions", "(has_generated_image) WHERE has_generated_image = true"),
        new("idx_generated_images_description_id", "generated_images", "(description_id)"),
        new("idx_generated_images_status", "generated_images", "(status)"),
        new("idx_reading_progress_user_book", "reading_progress", "(user_id, book_id)"),
        new("idx_reading_progress_updated_at", "reading_progress", "(updated_at DESC)"),
        new("idx_subscriptions_user_id", "subscriptions", "(user_id)"),
        new("idx_subscriptions_active", "subscriptions", "(user_id, is_active) WHERE is_active = true"),
    ];
}

public sealed record IndexSpec(string Name, string Table, string Definition)
{
    public string CreateSql => $"CREATE INDEX CONCURRENTLY IF NOT EXISTS {Name} ON {Table} {Definition}";

    /// <summary>A plain build, for a table created in the same transaction (see <see cref="SchemaMigrator"/>).</summary>
    public string CreateInTransactionSql => $"CREATE INDEX IF NOT EXISTS {Name} ON {Table} {Definition}";
}
