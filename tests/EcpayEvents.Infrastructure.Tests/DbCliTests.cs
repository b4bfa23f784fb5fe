using EcpayEvents.Testing;
using MySqlConnector;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>`ecpay-events db migrate|check|review` run as a real process: exit codes 0 / 1 (ledger invariant violated) / 2 (bad input), never the password.</summary>
public sealed class DbCliTests
{
    /// <summary>The CLI with DATABASE_CONNECTION_STRING unset unless <paramref name="env"/> sets it.</summary>
    private static Task<CliProcess.Result> CliAsync(IDictionary<string, string?>? env, params string[] args)
    {
        var environment = new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = null };
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) environment[k] = v;
        return CliProcess.RunAsync(environment, args);
    }

    private static Task<CliProcess.Result> CliAsync(params string[] args) => CliAsync(null, args);

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
        await SeedConsistentLedgerAsync(db);

        var ok = await CliAsync("db", "check", "--connection-string", db.ConnectionString);
        Assert.True(ok.ExitCode == 0, ok.All);
        Assert.StartsWith("ok: every balance equals the sum of its ledger entries; every completed deposit is credited once", ok.Stdout.Trim());

        var broken = await db.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('b', 'b@example.com', 100); SELECT LAST_INSERT_ID();");
        var bad = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = db.ConnectionString }, "db", "check");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"balance: user {broken}: balance 100 but ledger entries sum to 0", bad.Stdout);
        Assert.Contains("1 violation(s) of the ledger invariant", bad.Stdout);
        Assert.DoesNotContain("local-dev-only", ok.All + bad.All);
    }

    /// <summary>
    /// User 'ledger' (balance 300): a completed deposit of 500 credited once, a withdrawal of 200 debited once,
    /// a pending deposit of 100, an expired one of 70 and a failed one of 60 (none credited). Returns the ids.
    /// </summary>
    private static async Task<(long User, long Completed, long Withdrawal, long Pending)> SeedConsistentLedgerAsync(TestDatabase db)
    {
        var user = await db.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('ledger', 'l@example.com', 300); SELECT LAST_INSERT_ID();");
        var completed = await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES (@u, 'deposit', 500, 'completed', 'CHECK000000000000001');
            INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, LAST_INSERT_ID(), 500);
            SELECT transaction_id FROM ledger_entries WHERE id = LAST_INSERT_ID();
            """, ("@u", user));
        var withdrawal = await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status) VALUES (@u, 'withdrawal', 200, 'completed');
            INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, LAST_INSERT_ID(), -200);
            SELECT transaction_id FROM ledger_entries WHERE id = LAST_INSERT_ID();
            """, ("@u", user));
        var pending = await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES (@u, 'deposit', 70, 'expired', 'CHECK000000000000003');
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES (@u, 'deposit', 60, 'failed', 'CHECK000000000000004');
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES (@u, 'deposit', 100, 'pending', 'CHECK000000000000002');
            SELECT LAST_INSERT_ID();
            """, ("@u", user));
        return (user, completed, withdrawal, pending);
    }

    // Each corruption keeps every balance equal to its ledger entries unless that is the point: the
    // balance rule alone passed all of them but the first.
    [Theory]
    [InlineData("balance", "UPDATE users SET balance = balance + 1 WHERE id = @u")]
    [InlineData("completed-deposit", "INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES (@u, 'deposit', 100, 'completed', 'CHECK0000000000000X1')")]
    [InlineData("completed-deposit", "UPDATE ledger_entries SET amount = 450 WHERE transaction_id = @d; UPDATE users SET balance = 250 WHERE id = @u")]
    [InlineData("uncompleted-deposit-credited", "INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @p, 100); UPDATE users SET balance = 400 WHERE id = @u")]
    [InlineData("uncompleted-deposit-credited", "UPDATE transactions SET status = 'expired' WHERE id = @d")]
    [InlineData("withdrawal", "INSERT INTO transactions (user_id, type, amount, status) VALUES (@u, 'withdrawal', 50, 'completed')")]
    [InlineData("withdrawal", "UPDATE ledger_entries SET amount = -150 WHERE transaction_id = @w; UPDATE users SET balance = 350 WHERE id = @u")]
    [InlineData("ledger-entry", "UPDATE ledger_entries SET amount = 200 WHERE transaction_id = @w; UPDATE users SET balance = 700 WHERE id = @u")]
    [InlineData("ledger-entry", "INSERT INTO users (id, username, email, balance) VALUES (@u + 1000, 'other', 'o@example.com', 500); UPDATE ledger_entries SET user_id = @u + 1000 WHERE transaction_id = @d")]
    public async Task CheckNamesEachKindOfViolationAndExitsOne(string kind, string corruption)
    {
        await using var db = await TestDatabase.CreateAsync("cliinvariant");
        var (user, completed, withdrawal, pending) = await SeedConsistentLedgerAsync(db);
        await db.ExecuteAsync(corruption, ("@u", user), ("@d", completed), ("@w", withdrawal), ("@p", pending));

        var result = await CliAsync("db", "check", "--connection-string", db.ConnectionString);
        Assert.True(result.ExitCode == 1, result.All);
        Assert.Contains(result.Stdout.Split('\n'), l => l.StartsWith(kind + ": ", StringComparison.Ordinal));
        await Assert.ThrowsAsync<LedgerInvariantViolation>(db.AssertLedgerInvariantAsync); // the tests' check is the same definition
    }

    [Fact]
    public async Task PruneRejectedDeletesOldRejectedResultsButKeepsOpenCasesRecentOnesAndEverythingElse()
    {
        await using var db = await TestDatabase.CreateAsync("cliprune");
        var user = await db.ScalarAsync<long>("INSERT INTO users (username, email) VALUES ('p', 'p@example.com'); SELECT LAST_INSERT_ID();");
        var flagged = await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, review_reason) VALUES (@u, 'deposit', 500, 'pending', 'PRUNE000000000000001', 'amount mismatch');
            SELECT LAST_INSERT_ID();
            """, ("@u", user));
        async Task<long> EventAsync(long? transaction, string outcome, int daysAgo) => await db.ScalarAsync<long>("""
            INSERT INTO payment_events (transaction_id, merchant_trade_no, source, raw_fields, received_at, recorded_at, outcome, reason, dedup_key)
            VALUES (@t, 'PRUNE000000000000001', 'ReturnURL', '{}', UTC_TIMESTAMP(6) - INTERVAL @d DAY, UTC_TIMESTAMP(6) - INTERVAL @d DAY, @o, 'r', SHA2(UUID(), 256));
            SELECT LAST_INSERT_ID();
            """, ("@t", transaction), ("@o", outcome), ("@d", daysAgo));
        var oldJunk = new List<long>();
        for (var i = 0; i < 1203; i++) oldJunk.Add(await EventAsync(null, "rejected", 40)); // more than one batch
        var openCase = await EventAsync(flagged, "rejected", 40);
        var recent = await EventAsync(null, "rejected", 5);
        var oldCredit = await EventAsync(flagged, "credited", 40);

        var dry = await CliAsync("db", "prune-rejected", "--days", "30", "--dry-run", "--connection-string", db.ConnectionString);
        Assert.True(dry.ExitCode == 0, dry.All);
        Assert.Equal("would delete 1203 rejected result(s) recorded more than 30 day(s) ago", dry.Stdout.Trim());
        Assert.Equal(1206, await db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events"));

        var run = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = db.ConnectionString }, "db", "prune-rejected", "--days", "30");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.StartsWith("deleted 1203 rejected result(s)", run.Stdout.Trim());
        var left = await db.ScalarAsync<string>("SELECT GROUP_CONCAT(id ORDER BY id) FROM payment_events");
        Assert.Equal(string.Join(',', new[] { openCase, recent, oldCredit }.Order()), left);

        // Once the case is resolved, its rejected result goes too.
        await db.ExecuteAsync("UPDATE transactions SET reviewed_at = UTC_TIMESTAMP(6), review_note = 'done' WHERE id = @t", ("@t", flagged));
        var again = await CliAsync("db", "prune-rejected", "--days", "30", "--connection-string", db.ConnectionString);
        Assert.StartsWith("deleted 1 rejected result(s)", again.Stdout.Trim());
    }

    [Theory]
    [InlineData("Required argument missing for option: '--days'", "--days")]
    [InlineData("Option '--days' is required", "--dry-run")]
    [InlineData("--days must be a whole number of days from 1 to 3650, not '0'", "--days", "0")]
    [InlineData("--days must be a whole number of days from 1 to 3650, not '-3'", "--days", "-3")]
    [InlineData("Unrecognized command or argument '--all'", "--days", "3", "--all")]
    public async Task PruneRejectedReadsItsArgumentsStrictly(string message, params string[] more)
    {
        var result = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = "Server=127.0.0.1;Port=1" }, ["db", "prune-rejected", .. more]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public async Task ReviewListsWhatIsOpenUntilAnOperatorResolvesItExitingOneWhileAnythingIsOpen()
    {
        await using var db = await TestDatabase.CreateAsync("clireview");
        var env = new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = db.ConnectionString };
        await db.ExecuteAsync("INSERT INTO users (username, email, balance) VALUES ('r', 'r@example.com', 0)");
        var empty = await CliAsync(env, "db", "review");
        Assert.True(empty.ExitCode == 0, empty.All);
        Assert.Equal("nothing to review", empty.Stdout.Trim());

        // What Settlement leaves behind for a payment after expiry (credited, flagged), a wrong amount
        // (not credited, flagged), a result for an order we never had and a forged one for an order we have.
        var user = await db.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('late', 'late@example.com', 700); SELECT LAST_INSERT_ID();");
        async Task<long> TransactionAsync(long amount, string status, string tradeNo, string? review) => await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, review_reason, updated_at)
            VALUES (@u, 'deposit', @a, @s, @m, @r, UTC_TIMESTAMP(6) - INTERVAL 40 DAY);
            SELECT LAST_INSERT_ID();
            """, ("@u", user), ("@a", amount), ("@s", status), ("@m", tradeNo), ("@r", review));
        var late = await TransactionAsync(700, "completed", "LATE0000000000000001", "paid after expiry");
        await db.ExecuteAsync("INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @t, 700)", ("@u", user), ("@t", late));
        var wrong = await TransactionAsync(500, "pending", "AMNT0000000000000001", "paid result rejected: TradeAmt 5 <> amount 500");
        var plain = await TransactionAsync(300, "pending", "PLAIN000000000000001", null);
        async Task<long> EventAsync(long? transaction, string tradeNo, string outcome, string reason) => await db.ScalarAsync<long>("""
            INSERT INTO payment_events (transaction_id, merchant_trade_no, source, raw_fields, received_at, outcome, reason, dedup_key)
            VALUES (@t, @m, 'ReturnURL', '{}', UTC_TIMESTAMP(6), @o, @r, SHA2(UUID(), 256));
            SELECT LAST_INSERT_ID();
            """, ("@t", transaction), ("@m", tradeNo), ("@o", outcome), ("@r", reason));
        var lateEvent = await EventAsync(late, "LATE0000000000000001", "credited_late", "paid after the transaction expired");
        await EventAsync(late, "LATE0000000000000001", "already_completed", "re-send");
        var wrongEvent = await EventAsync(wrong, "AMNT0000000000000001", "rejected", "amount mismatch: TradeAmt 5, transaction amount 500");
        var unknown = await EventAsync(null, "NOSUCH00000000000001", "rejected", "unknown MerchantTradeNo");
        var forged = await EventAsync(plain, "PLAIN000000000000001", "rejected", "CheckMacValue does not verify");

        var run = await CliAsync(env, "db", "review");
        Assert.True(run.ExitCode == 1, run.All);
        var lines = Lines(run.Stdout);
        // Open items whatever their age (these were flagged 40 days ago).
        Assert.Contains(lines, l => l.StartsWith($"transaction {late}  user {user}  LATE0000000000000001  700 TWD  completed  credited  ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"transaction {wrong}  user {user}  AMNT0000000000000001  500 TWD  pending  NOT credited  ", StringComparison.Ordinal));
        Assert.Contains("review: paid after expiry", lines);
        Assert.Contains(lines, l => l.StartsWith($"event {lateEvent}  ", StringComparison.Ordinal) && l.EndsWith("ReturnURL  credited_late: paid after the transaction expired", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"event {wrongEvent}  ", StringComparison.Ordinal) && l.EndsWith("ReturnURL  rejected: amount mismatch: TradeAmt 5, transaction amount 500", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("already_completed", StringComparison.Ordinal));
        Assert.Contains("results that need attention:", lines);
        Assert.Contains(lines, l => l.StartsWith($"event {unknown}  ", StringComparison.Ordinal) && l.EndsWith("NOSUCH00000000000001 (no such transaction)  ReturnURL  rejected: unknown MerchantTradeNo", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"event {forged}  ", StringComparison.Ordinal) && l.EndsWith($"PLAIN000000000000001 (transaction {plain})  ReturnURL  rejected: CheckMacValue does not verify", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith($"event {wrongEvent}  ", StringComparison.Ordinal)); // under its transaction only
        Assert.StartsWith("4 open: resolve each with ecpay-events db review resolve", lines[^1]);

        // An event under an open flagged transaction is resolved with its transaction, not on its own.
        var under = await CliAsync(env, "db", "review", "resolve", "--event", wrongEvent.ToString(), "--note", "x");
        Assert.Equal(1, under.ExitCode);
        Assert.StartsWith($"event {wrongEvent} is not open on its own", under.Stdout.Trim());

        // Resolving a transaction closes it and its events, and leaves the polled row (updated_at) alone.
        var updatedAt = await db.ScalarAsync<DateTime>("SELECT updated_at FROM transactions WHERE id = @t", ("@t", late));
        var resolved = await CliAsync(env, "db", "review", "resolve", "--transaction", late.ToString(), "--note", "customer told; kept the late credit");
        Assert.True(resolved.ExitCode == 0, resolved.All);
        Assert.Equal($"resolved transaction {late} and its events", resolved.Stdout.Trim());
        Assert.Equal(updatedAt, await db.ScalarAsync<DateTime>("SELECT updated_at FROM transactions WHERE id = @t", ("@t", late)));
        var again = await CliAsync(env, "db", "review", "resolve", "--transaction", late.ToString(), "--note", "twice");
        Assert.Equal((1, $"transaction {late} has no open review"), (again.ExitCode, again.Stdout.Trim()));
        // The command line's order is free: options before "resolve" too.
        Assert.Equal(0, (await CliAsync("db", "review", "--connection-string", db.ConnectionString, "resolve", "--event", unknown.ToString(), "--note", "a test order from the stage back office")).ExitCode);

        var rest = await CliAsync(env, "db", "review");
        Assert.Equal(1, rest.ExitCode);
        lines = Lines(rest.Stdout);
        Assert.DoesNotContain(lines, l => l.StartsWith($"transaction {late}  ", StringComparison.Ordinal) || l.StartsWith($"event {unknown}  ", StringComparison.Ordinal));
        Assert.StartsWith("2 open:", lines[^1]);
        var all = Lines((await CliAsync(env, "db", "review", "--all", "--days", "1")).Stdout);
        Assert.Contains(all, l => l.StartsWith("resolved ", StringComparison.Ordinal) && l.EndsWith(": customer told; kept the late credit", StringComparison.Ordinal));
        Assert.Contains(all, l => l.StartsWith($"event {unknown}  ", StringComparison.Ordinal) && l.EndsWith(": a test order from the stage back office", StringComparison.Ordinal));

        Assert.Equal(0, (await CliAsync(env, "db", "review", "resolve", "--transaction", wrong.ToString(), "--note", "refunded the 5 TWD")).ExitCode);
        Assert.Equal(0, (await CliAsync(env, "db", "review", "resolve", "--event", forged.ToString(), "--note", "not from ECPay")).ExitCode);
        var done = await CliAsync(env, "db", "review");
        Assert.Equal((0, "nothing to review"), (done.ExitCode, done.Stdout.Trim()));

        // Settlement re-opens a resolved transaction when a new reason flags it (as its FlagForReview does).
        await db.ExecuteAsync("UPDATE transactions SET review_reason = 'paid result posted to PaymentInfoURL, not credited: check ECPay', reviewed_at = NULL WHERE id = @t", ("@t", late));
        var reopened = await CliAsync(env, "db", "review");
        Assert.Equal(1, reopened.ExitCode);
        Assert.Contains("re-opened; the earlier resolution said: customer told; kept the late credit", Lines(reopened.Stdout));
    }

    [Theory]
    [InlineData("--days without --all", "--days goes with --all", "review", "--days", "3")]
    [InlineData("--days out of range", "--days must be a whole number of days from 1 to 3650, not '0'", "review", "--all", "--days", "0")]
    [InlineData("no id", "review resolve needs --transaction ID or --event ID", "review", "resolve", "--note", "x")]
    [InlineData("both ids", "review resolve needs --transaction ID or --event ID", "review", "resolve", "--transaction", "1", "--event", "2", "--note", "x")]
    [InlineData("bad id", "Cannot parse argument 'abc' for option '--transaction'", "review", "resolve", "--transaction", "abc", "--note", "x")]
    [InlineData("no note", "Option '--note' is required", "review", "resolve", "--event", "2")]
    [InlineData("unknown option", "Unrecognized command or argument '--al'", "review", "--al")]
    [InlineData("--days without its value", "Required argument missing for option: '--days'", "review", "--all", "--days")]
    [InlineData("--event without its value", "--event", "review", "resolve", "--transaction", "42", "--event")]
    [InlineData("resolve's option on the listing", "Unrecognized command or argument '--note'", "review", "--note", "x")]
    [InlineData("listing's option on resolve", "Unrecognized command or argument '--all'", "review", "resolve", "--all", "--event", "2", "--note", "x")]
    public async Task ReviewBadInputIsOneLineAndExitCode2(string why, string message, params string[] args)
    {
        await using var db = await TestDatabase.CreateAsync("clirevbad");
        var run = await CliAsync(new Dictionary<string, string?> { ["DATABASE_CONNECTION_STRING"] = db.ConnectionString }, ["db", .. args]);
        Assert.True(run.ExitCode == 2, $"{why}: exit {run.ExitCode}: {run.All}");
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ecpay-events db review", line);
        Assert.Contains(message, line);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Theory]
    [InlineData("no-args")]
    [InlineData("unknown-command")]
    [InlineData("no-connection-string")]
    [InlineData("no-database")]
    [InlineData("wrong-password")]
    [InlineData("unreachable")]
    public async Task BadInputOrAnUnreachableDatabaseIsOneLineOnStderrWithoutThePassword(string @case)
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
        // A database that cannot be reached or refuses the login is not bad usage: exit 3, "could not find out".
        var expected = @case is "wrong-password" or "unreachable" ? 3 : 2;
        Assert.True(run.ExitCode == expected, $"{@case}: exit {run.ExitCode}: {run.All}");
        Assert.DoesNotContain(Secret, run.All);
        if (@case != "no-args")
        {
            var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("ecpay-events db", line);
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
