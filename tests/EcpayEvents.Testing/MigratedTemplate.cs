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

    /// <summary>The template's tables: name, <c>SHOW CREATE TABLE</c>, and the columns a copy writes (not generated ones).</summary>
    private readonly IReadOnlyList<(string Table, string Create, string Columns)> tables;

    public string Name { get; }

    private MigratedTemplate(string name, IReadOnlyList<(string, string, string)> tables)
    {
        Name = name;
        this.tables = tables;
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
        await using (var server = new MySqlConnection(TestDatabase.ServerConnectionString))
        {
            await server.OpenAsync();
            await using var create = new MySqlCommand($"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", server);
            await create.ExecuteNonQueryAsync();
        }
        await using var c = new MySqlConnection(new MySqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = database }.ConnectionString);
        await c.OpenAsync();
        var sql = new System.Text.StringBuilder("SET FOREIGN_KEY_CHECKS = 0;\n");
        foreach (var (_, createTable, _) in tables) sql.Append(createTable).Append(";\n");
        foreach (var (table, _, columns) in tables) sql.Append($"INSERT INTO `{table}` ({columns}) SELECT {columns} FROM `{Name}`.`{table}`;\n");
        // The history names the database it was made in ("Empty schema found: <name>"): this one's own name.
        sql.Append($"UPDATE schema_changelog SET name = REPLACE(name, '{Name}', '{database}'), description = REPLACE(description, '{Name}', '{database}');\n");
        sql.Append("SET FOREIGN_KEY_CHECKS = 1;");
        await using var copy = new MySqlCommand(sql.ToString(), c);
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

        var names = new List<string>();
        await using (var list = new MySqlCommand("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = @n AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", c))
        {
            list.Parameters.AddWithValue("@n", name);
            await using var r = await list.ExecuteReaderAsync();
            while (await r.ReadAsync()) names.Add(r.GetString(0));
        }
        var tables = new List<(string, string, string)>();
        foreach (var table in names)
        {
            string create;
            await using (var show = new MySqlCommand($"SHOW CREATE TABLE `{name}`.`{table}`", c))
            await using (var r = await show.ExecuteReaderAsync())
            {
                await r.ReadAsync();
                create = r.GetString(1);
            }
            await using var columns = new MySqlCommand(
                "SELECT GROUP_CONCAT(CONCAT('`', COLUMN_NAME, '`') ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = @n AND TABLE_NAME = @t AND IS_GENERATED = 'NEVER'", c);
            columns.Parameters.AddWithValue("@n", name);
            columns.Parameters.AddWithValue("@t", table);
            tables.Add((table, create, (string)(await columns.ExecuteScalarAsync())!));
        }
        return new MigratedTemplate(name, tables);
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
