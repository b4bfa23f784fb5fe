using EcpayEvents.Cli.Database;
using MySqlConnector;

namespace EcpayEvents.Testing;

/// <summary>
/// A fresh, migrated database on the project's local MariaDB (infrastructure/local/mariadb.sh,
/// 127.0.0.1:3307 unless MARIADB_PORT says otherwise), dropped on dispose. One per test class or test.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    // A server that already answers on the port (another checkout's, shared by several worktrees) is used
    // as it is; only when none answers is this checkout's own started.
    private static readonly Lazy<Task> serverStarted = new(() => Task.Run(async () =>
    {
        if (await ServerAnswersAsync()) return;
        RepoPaths.RunScript("infrastructure/local/mariadb.sh", "start");
    }));

    private static async Task<bool> ServerAnswersAsync()
    {
        try
        {
            await using var c = new MySqlConnection(ServerConnectionString);
            await c.OpenAsync();
            return true;
        }
        catch (MySqlException)
        {
            return false;
        }
    }

    public static int Port => int.TryParse(Environment.GetEnvironmentVariable("MARIADB_PORT"), out var p) ? p : 3307;
    public static string ServerConnectionString =>
        $"Server=127.0.0.1;Port={Port};User ID=root;Password={Environment.GetEnvironmentVariable("MARIADB_ROOT_PASSWORD") ?? "local-dev-only"};" +
        "Pooling=true;Maximum Pool Size=200;Default Command Timeout=30;Connection Timeout=10";

    public string Name { get; }
    public string ConnectionString { get; }

    private TestDatabase(string name)
    {
        Name = name;
        ConnectionString = new MySqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task<TestDatabase> CreateAsync(string prefix = "t")
    {
        await serverStarted.Value;
        // MySQL names are at most 64 characters: up to 20 of the prefix, then 32 of a GUID.
        var name = $"{new string(prefix.Where(char.IsAsciiLetterOrDigit).Take(20).ToArray())}_{Guid.NewGuid():N}".ToLowerInvariant();
        var db = new TestDatabase(name);
        await DatabaseMigrator.MigrateAsync(db.ConnectionString, _ => { });
        return db;
    }

    public MySqlConnection Open()
    {
        var c = new MySqlConnection(ConnectionString);
        c.Open();
        return c;
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        var result = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(result!, typeof(T));
    }

    public async Task ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>How many users have a balance that is not the sum of their ledger entries (should be 0).</summary>
    public const string UsersOutOfBalanceSql = """
        SELECT COUNT(*) FROM (
          SELECT u.id FROM users u LEFT JOIN ledger_entries l ON l.user_id = u.id
          GROUP BY u.id, u.balance HAVING u.balance <> COALESCE(SUM(l.amount), 0)) broken
        """;

    /// <summary>The ledger invariant: every user's balance equals the sum of their ledger entries.</summary>
    public async Task AssertLedgerInvariantAsync()
    {
        var broken = await ScalarAsync<long>(UsersOutOfBalanceSql);
        if (broken != 0) throw new LedgerInvariantViolation($"{broken} user(s) have balance != sum(ledger entries) in {Name}");
    }

    public async ValueTask DisposeAsync()
    {
        await MySqlConnection.ClearPoolAsync(new MySqlConnection(ConnectionString));
        await using var c = new MySqlConnection(ServerConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand($"DROP DATABASE IF EXISTS `{Name}`", c);
        await cmd.ExecuteNonQueryAsync();
    }
}

public sealed class LedgerInvariantViolation(string message) : Exception(message);
