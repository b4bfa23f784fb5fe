using EcpayEvents.Cli.Database;
using MySqlConnector;

namespace EcpayEvents.Testing;

/// <summary>
/// A fresh, migrated database on the project's local MariaDB (infrastructure/local/mariadb.sh,
/// 127.0.0.1:3307 unless MARIADB_PORT says otherwise), dropped on dispose. One per test class or test.
/// Its tables are copied from a template the real migrator made (<see cref="MigratedTemplate"/>).
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
        await (await MigratedTemplate.GetAsync()).CopyToAsync(name);
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

    /// <summary>How many violations of the ledger invariant there are (should be 0): the CLI's definition.</summary>
    public const string InvariantViolationsCountSql = "SELECT COUNT(*) FROM (" + LedgerInvariant.ViolationsSql + ") violations";

    /// <summary>
    /// The ledger invariant, as `ecpay-events db check` defines it (<see cref="LedgerInvariant"/>): balances
    /// equal their ledger entries, completed deposits are credited exactly once, nothing else is, every
    /// withdrawal is debited once.
    /// </summary>
    public async Task AssertLedgerInvariantAsync()
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        var violations = await LedgerInvariant.FindAsync(c);
        if (violations.Count != 0)
            throw new LedgerInvariantViolation($"{violations.Count} violation(s) of the ledger invariant in {Name}:\n" + string.Join("\n", violations.Select(v => $"{v.Kind}: {v.Detail}")));
    }

    public async ValueTask DisposeAsync()
    {
        await MySqlConnection.ClearPoolAsync(new MySqlConnection(ConnectionString));
        await using var c = new MySqlConnection(ServerConnectionString);
        await c.OpenAsync();
        // A session still on the database (a paused or stuck process, a transaction a test left open) would make the
        // DROP wait for it, holding the locks of the tables it already has meanwhile: such sessions are ended first.
        var sessions = new List<long>();
        await using (var find = new MySqlCommand("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = @n AND ID <> CONNECTION_ID()", c))
        {
            find.Parameters.AddWithValue("@n", Name);
            await using var r = await find.ExecuteReaderAsync();
            while (await r.ReadAsync()) sessions.Add(r.GetInt64(0));
        }
        foreach (var id in sessions)
        {
            try
            {
                await new MySqlCommand($"KILL CONNECTION {id}", c).ExecuteNonQueryAsync();
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NoSuchThread)
            {
                // it ended by itself meanwhile
            }
        }
        await using var cmd = new MySqlCommand($"DROP DATABASE IF EXISTS `{Name}`", c);
        await cmd.ExecuteNonQueryAsync();
    }
}

public sealed class LedgerInvariantViolation(string message) : Exception(message);
