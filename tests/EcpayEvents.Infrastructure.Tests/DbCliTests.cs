using System.Diagnostics;
using EcpayEvents.Testing;
using MySqlConnector;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>`ecpay-events db migrate|check` run as a real process: exit codes 0 / 1 (ledger out of balance) / 2 (bad input), never the password.</summary>
public sealed class DbCliTests
{
    private sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
    }

    private static async Task<Run> CliAsync(IDictionary<string, string?>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ecpay-events.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DATABASE_CONNECTION_STRING"] = null;
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(timeout.Token);
        return new Run(p.ExitCode, await stdout, await stderr);
    }

    private static Task<Run> CliAsync(params string[] args) => CliAsync(null, args);

    [Fact]
    public async Task MigrateCreatesAndMigratesADatabaseThenHasNothingToDo()
    {
        await (await TestDatabase.CreateAsync("cliserver")).DisposeAsync(); // starts the local MariaDB if needed
        var name = $"clidb_{Guid.NewGuid():N}";
        var cs = new MySqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = name }.ConnectionString;
        try
        {
            var first = await CliAsync("db", "migrate", "--connection-string", cs);
            Assert.True(first.ExitCode == 0, first.All);
            Assert.Matches(@"^applied \d+ migration\(s\)$", first.Stdout.Trim());

            var again = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = cs }, "db", "migrate");
            Assert.Equal(0, again.ExitCode);
            Assert.Equal("schema is up to date", again.Stdout.Trim());

            var rawFields = await ScalarAsync(cs, "SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'payment_events' AND column_name = 'raw_fields'");
            Assert.Equal("mediumtext", rawFields);
            Assert.DoesNotContain("local-dev-only", first.All + again.All);
        }
        finally
        {
            await using var c = new MySqlConnection(TestDatabase.ServerConnectionString);
            await c.OpenAsync();
            await using var drop = new MySqlCommand($"DROP DATABASE IF EXISTS `{name}`", c);
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task CheckExitsZeroWhenBalancedAndOneNamingTheUserWhenNot()
    {
        await using var db = await TestDatabase.CreateAsync("clicheck");
        await db.ExecuteAsync("INSERT INTO users (username, email, balance) VALUES ('ok', 'ok@example.com', 0)");

        var ok = await CliAsync("db", "check", "--connection-string", db.ConnectionString);
        Assert.True(ok.ExitCode == 0, ok.All);
        Assert.Equal("ok: every balance equals the sum of its ledger entries", ok.Stdout.Trim());

        var broken = await db.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('b', 'b@example.com', 100); SELECT LAST_INSERT_ID();");
        var bad = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = db.ConnectionString }, "db", "check");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"user {broken}: balance 100 but ledger sums to 0", bad.Stdout);
        Assert.Contains("1 user(s) out of balance", bad.Stdout);
        Assert.DoesNotContain("local-dev-only", ok.All + bad.All);
    }

    [Theory]
    [InlineData("no-args")]
    [InlineData("unknown-command")]
    [InlineData("no-connection-string")]
    [InlineData("no-database")]
    [InlineData("wrong-password")]
    [InlineData("unreachable")]
    public async Task BadInputIsOneLineOnStderrAndExitCode2WithoutThePassword(string @case)
    {
        const string Secret = "s3cret-never-printed";
        var server = new MySqlConnectionStringBuilder(TestDatabase.ServerConnectionString) { Database = "clinever", ConnectionTimeout = 3 };
        var run = @case switch
        {
            "no-args" => await CliAsync("db"),
            "unknown-command" => await CliAsync("db", "frobnicate", "--connection-string", server.ConnectionString),
            "no-connection-string" => await CliAsync("db", "check"),
            "no-database" => await CliAsync("db", "migrate", "--connection-string", new MySqlConnectionStringBuilder(server.ConnectionString) { Database = "", Password = Secret }.ConnectionString),
            "wrong-password" => await CliAsync("db", "check", "--connection-string", new MySqlConnectionStringBuilder(server.ConnectionString) { Password = Secret }.ConnectionString),
            "unreachable" => await CliAsync("db", "migrate", "--connection-string", new MySqlConnectionStringBuilder(server.ConnectionString) { Port = (uint)FreePort.Next(), Password = Secret }.ConnectionString),
            _ => throw new ArgumentOutOfRangeException(nameof(@case)),
        };
        Assert.True(run.ExitCode == 2, $"{@case}: exit {run.ExitCode}: {run.All}");
        Assert.DoesNotContain(Secret, run.All);
        if (@case != "no-args")
        {
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("ecpay-events db: ", line);
        }
    }

    private static async Task<string> ScalarAsync(string cs, string sql)
    {
        await using var c = new MySqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        return Convert.ToString(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)!;
    }
}
