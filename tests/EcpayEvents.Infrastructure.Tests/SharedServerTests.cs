using EcpayEvents.Cli.Database;
using EcpayEvents.Testing;
using MySqlConnector;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>
/// Every test's database lives on one shared MariaDB: each is a faithful copy of a migrated one, and ending one
/// does not wait for sessions a test or a stopped process left on it.
/// </summary>
public sealed class SharedServerTests
{
    [Fact]
    public async Task ATestDatabaseHasExactlyTheTablesAndHistoryTheMigratorGivesANewDatabase()
    {
        await using var copied = await TestDatabase.CreateAsync("copied");
        var name = $"migrated_{Guid.NewGuid():N}";
        var migratedCs = new MySqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = name }.ConnectionString;
        try
        {
            Assert.True(await DatabaseMigrator.MigrateAsync(migratedCs, _ => { }) > 0);
            var expected = await DescribeAsync(migratedCs);
            var actual = await DescribeAsync(copied.ConnectionString);
            Assert.NotEmpty(expected.Tables);
            Assert.Equal(expected.Tables, actual.Tables);
            Assert.Equal(expected.History, actual.History);
            Assert.Equal("utf8mb4_unicode_ci", actual.Collation);
            // The copy's history is the migrator's own: it finds nothing to apply and validates every checksum.
            Assert.Equal(0, await DatabaseMigrator.MigrateAsync(copied.ConnectionString, _ => { }));
        }
        finally
        {
            await using var c = new MySqlConnection(TestDatabase.ServerConnectionString);
            await c.OpenAsync();
            await new MySqlCommand($"DROP DATABASE IF EXISTS `{name}`", c).ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task DisposingATestDatabaseEndsTheTransactionsStillOpenOnIt()
    {
        var db = await TestDatabase.CreateAsync("disposeopen");
        await using var holder = await HoldUsersAsync(db);

        // Without ending the holder's session the DROP would wait for it (lock_wait_timeout: a year).
        await db.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

        await using var c = new MySqlConnection(TestDatabase.ServerConnectionString);
        await c.OpenAsync();
        await using var exists = new MySqlCommand("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @n", c);
        exists.Parameters.AddWithValue("@n", db.Name);
        Assert.Equal(0L, Convert.ToInt64(await exists.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        await Assert.ThrowsAnyAsync<Exception>(() => new MySqlCommand("SELECT 1", holder).ExecuteScalarAsync());
    }

    /// <summary>A session left in an open transaction that has locked the rows of <c>users</c>.</summary>
    private static async Task<MySqlConnection> HoldUsersAsync(TestDatabase db)
    {
        var holder = new MySqlConnection(new MySqlConnectionStringBuilder(db.ConnectionString) { Pooling = false }.ConnectionString);
        await holder.OpenAsync();
        await new MySqlCommand("BEGIN; SELECT COUNT(*) FROM users FOR UPDATE;", holder).ExecuteNonQueryAsync();
        return holder;
    }

    /// <summary>Each table's definition (auto-increment counters aside), the migration history (its own name as {database}, no durations), the default collation.</summary>
    private static async Task<(List<string> Tables, List<string> History, string Collation)> DescribeAsync(string connectionString)
    {
        await using var c = new MySqlConnection(connectionString);
        await c.OpenAsync();
        var names = new List<string>();
        await using (var list = new MySqlCommand("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME", c))
        await using (var r = await list.ExecuteReaderAsync())
            while (await r.ReadAsync()) names.Add(r.GetString(0));
        var tables = new List<string>();
        foreach (var table in names)
        {
            await using var show = new MySqlCommand($"SHOW CREATE TABLE `{table}`", c);
            await using var r = await show.ExecuteReaderAsync();
            await r.ReadAsync();
            tables.Add(System.Text.RegularExpressions.Regex.Replace(r.GetString(1), @" AUTO_INCREMENT=\d+", ""));
        }
        var history = new List<string>();
        await using (var rows = new MySqlCommand("SELECT REPLACE(CONCAT_WS('|', id, type, version, REGEXP_REPLACE(description, ' \\\\([0-9]+ ms\\\\)$', ''), name, checksum, success), DATABASE(), '{database}') FROM schema_changelog ORDER BY id", c))
        await using (var r = await rows.ExecuteReaderAsync())
            while (await r.ReadAsync()) history.Add(r.GetString(0));
        await using var collation = new MySqlCommand("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()", c);
        return (tables, history, (string)(await collation.ExecuteScalarAsync())!);
    }
}
