using EvolveDb;
using MySqlConnector;

namespace EcpayEvents.Cli.Database;

/// <summary>
/// Applies the SQL migrations in infrastructure/db/migrations (embedded in this binary) with Evolve.
/// The services never change the schema; this is the only place that does.
/// </summary>
public static class DatabaseMigrator
{
    /// <summary>What the migration scripts' embedded resource names start with (the .csproj's LogicalName).</summary>
    public const string ResourcePrefix = "EcpayEvents.Migrations";

    /// <summary>Creates the database if it is missing, then applies pending migrations. Returns how many ran.</summary>
    public static async Task<int> MigrateAsync(string connectionString, Action<string> log, CancellationToken ct = default)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString);
        var database = builder.Database;
        if (string.IsNullOrWhiteSpace(database))
            throw new ArgumentException("The connection string names no database (Database=...).", nameof(connectionString));

        builder.Database = "";
        await using (var server = new MySqlConnection(builder.ConnectionString))
        {
            await server.OpenAsync(ct);
            await using var create = server.CreateCommand();
            create.CommandText = $"CREATE DATABASE IF NOT EXISTS `{database.Replace("`", "``")}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci";
            await create.ExecuteNonQueryAsync(ct);
        }

        await using var connection = new MySqlConnection(connectionString);
        var evolve = new Evolve(connection, log, EvolveDb.Dialect.DBMS.MariaDB)
        {
            EmbeddedResourceAssemblies = [typeof(DatabaseMigrator).Assembly],
            EmbeddedResourceFilters = [ResourcePrefix],
            IsEraseDisabled = true,
            MetadataTableName = "schema_changelog",
        };
        evolve.Migrate();
        return evolve.NbMigration;
    }
}
