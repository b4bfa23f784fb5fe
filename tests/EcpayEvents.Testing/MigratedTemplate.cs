using System.Security.Cryptography;
using EcpayEvents.Cli.Database;
using MySqlConnector;

namespace EcpayEvents.Testing;

/// <summary>
/// One database migrated by the real migrator (<see cref="DatabaseMigrator"/>), kept on the shared server and
/// copied table by table into every <see cref="TestDatabase"/>. Running Evolve for each of the suite's hundreds of
/// databases was slow and fragile: each run takes one server-wide lock ('Evolve', retried every 3 s) and asks
/// whether the database is empty with an information_schema query that, on MariaDB, opens every table of every
/// database on the server while other test processes create and drop theirs.
/// </summary>
internal sealed class MigratedTemplate
{
    private static readonly Lock gate = new();
    private static Task<MigratedTemplate>? loading;

    /// <summary>
    /// What makes a copy, run in the new database: the template's tables as <c>SHOW CREATE TABLE</c> gives them,
    /// then their rows (the columns a copy can write: not generated ones).
    /// </summary>
    private readonly string copyScript;

    public string Name { get; }

    private MigratedTemplate(string name, string copyScript)
    {
        Name = name;
        this.copyScript = copyScript;
    }

    /// <summary>The process's template, loaded once (again after a failure, which is not kept for every later test).</summary>
    public static Task<MigratedTemplate> GetAsync()
    {
        lock (gate)
        {
            if (loading is null || loading.IsFaulted || loading.IsCanceled) loading = Task.Run(LoadAsync);
            return loading;
        }
    }

    /// <summary>Creates <paramref name="database"/> with the template's tables and rows (its migration history).</summary>
    public async Task CopyToAsync(string database)
    {
        await using var c = new MySqlConnection(TestDatabase.ServerConnectionString);
        await c.OpenAsync();
        await using var copy = new MySqlCommand(
            $"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; USE `{database}`;\n" + copyScript +
            // The history names the database it was made in ("Empty schema found: <name>"): this one's own name.
            $"UPDATE schema_changelog SET name = REPLACE(name, '{Name}', '{database}'), description = REPLACE(description, '{Name}', '{database}');", c);
        await copy.ExecuteNonQueryAsync();
    }

    private static async Task<MigratedTemplate> LoadAsync()
    {
        var name = "tpl_" + MigrationsFingerprint();
        await using var c = new MySqlConnection(TestDatabase.ServerConnectionString);
        await c.OpenAsync();
        // Test processes start together: one migrates the template, the others wait for it.
        await using (var lockTemplate = new MySqlCommand("SELECT GET_LOCK('ecpay_events_test_template', 300)", c))
            if (Convert.ToInt64(await lockTemplate.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) != 1)
                throw new InvalidOperationException("Another test process held the template lock for 5 minutes.");
        try
        {
            await using var ready = new MySqlCommand("SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @n", c);
            ready.Parameters.AddWithValue("@n", name);
            if (await ready.ExecuteScalarAsync() as string != "migrated")
            {
                // Missing, or left half-migrated by a run that was stopped: made again.
                await new MySqlCommand($"DROP DATABASE IF EXISTS `{name}`", c).ExecuteNonQueryAsync();
                await DatabaseMigrator.MigrateAsync(new MySqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = name }.ConnectionString, _ => { });
                await new MySqlCommand($"ALTER DATABASE `{name}` COMMENT 'migrated'", c).ExecuteNonQueryAsync();
            }
        }
        finally
        {
            await new MySqlCommand("SELECT RELEASE_LOCK('ecpay_events_test_template')", c).ExecuteScalarAsync();
        }

        var columns = new List<(string Table, string Columns)>();
        await using (var list = new MySqlCommand(
            "SELECT c.TABLE_NAME, GROUP_CONCAT(CONCAT('`', c.COLUMN_NAME, '`') ORDER BY c.ORDINAL_POSITION) FROM information_schema.COLUMNS c " +
            "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE' " +
            "WHERE c.TABLE_SCHEMA = @n AND c.IS_GENERATED = 'NEVER' GROUP BY c.TABLE_NAME ORDER BY c.TABLE_NAME", c))
        {
            list.Parameters.AddWithValue("@n", name);
            await using var r = await list.ExecuteReaderAsync();
            while (await r.ReadAsync()) columns.Add((r.GetString(0), r.GetString(1)));
        }
        var script = new System.Text.StringBuilder("SET FOREIGN_KEY_CHECKS = 0;\n");
        foreach (var (table, _) in columns)
        {
            await using var show = new MySqlCommand($"SHOW CREATE TABLE `{name}`.`{table}`", c);
            await using var r = await show.ExecuteReaderAsync();
            await r.ReadAsync();
            script.Append(r.GetString(1)).Append(";\n");
        }
        foreach (var (table, list) in columns) script.Append($"INSERT INTO `{table}` ({list}) SELECT {list} FROM `{name}`.`{table}`;\n");
        script.Append("SET FOREIGN_KEY_CHECKS = 1;\n");
        return new MigratedTemplate(name, script.ToString());
    }

    /// <summary>A hash of the embedded migration scripts: a changed or added script makes a new template.</summary>
    private static string MigrationsFingerprint()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(DatabaseMigrator.ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(resource + "\n"));
            using var s = assembly.GetManifestResourceStream(resource)!;
            using var bytes = new MemoryStream();
            s.CopyTo(bytes);
            hash.AppendData(bytes.ToArray());
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..24];
    }
}
