using System.Net.Http.Json;
using Amazon.SQS.Model;
using EcpayEvents.Messaging;
using EcpayEvents.Testing;
using MySqlConnector;

namespace EcpayEvents.Settlement.Tests;

/// <summary>Crashes, outages and poison: nothing is lost, nothing is credited twice.</summary>
public sealed class FailureTests
{
    [Fact]
    public async Task AConsumerThatDiesAfterCommitBeforeDeleteDoesNotCreditTwiceOnRedelivery()
    {
        await using var s = await SettlementStack.StartAsync("crash", startRunner: false);
        var d = await s.SeedDepositAsync(500);
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));

        // The "consumer" receives, settles (commit) and dies before deleting the message.
        var got = await s.SqsClient.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = s.Sqs.QueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 1 });
        var m = Assert.Single(got.Messages);
        var batch = new SqsEvent([new SqsMessage(m.MessageId, m.ReceiptHandle, m.Body, null, null, null, "aws:sqs", null, "us-east-1")]);
        using (var response = await s.Http.PostAsJsonAsync(s.SettlementEventsUrl, batch, SqsEventJsonContext.Default.SqsEvent))
        {
            var answer = await response.Content.ReadFromJsonAsync(SqsEventJsonContext.Default.SqsBatchResponse);
            Assert.Empty(answer!.BatchItemFailures);
        }
        Assert.Equal(500, await s.BalanceAsync(d.UserId));

        // The message reappears and the real event source delivers it again.
        s.StartRunner();
        await s.WaitForQueueDrainedAsync();
        Assert.Equal(500, await s.BalanceAsync(d.UserId));
        Assert.Equal(1, await s.LedgerEntriesAsync(d.Id));
        Assert.Contains("\"received\":1", s.RunnerLog.ToString());
        await s.Db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task APoisonMessageGoesToTheDeadLetterQueueWhileTheRestOfItsBatchSettles()
    {
        await using var s = await SettlementStack.StartAsync("poison", maxReceiveCount: 2, startRunner: false);
        var deposits = new List<Deposit>();
        for (var i = 0; i < 3; i++) deposits.Add(await s.SeedDepositAsync(100 + i));
        await s.SqsClient.SendMessageAsync(s.Sqs.QueueUrl, "{not json");
        foreach (var d in deposits) await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount));

        // First batch: all four together; only the poison one fails.
        var first = await s.CreateRunner().PollOnceAsync(CancellationToken.None);
        Assert.Equal((4, 1, 3), (first.Received, first.Failed, first.Deleted));
        foreach (var d in deposits) Assert.Equal(d.Amount, await s.BalanceAsync(d.UserId));

        s.StartRunner();
        await s.WaitForQueueDrainedAsync();
        var dead = await s.SqsClient.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = s.Sqs.DeadLetterQueueUrl, WaitTimeSeconds = 5 });
        Assert.Equal("{not json", Assert.Single(dead.Messages).Body);
        await s.Db.AssertLedgerInvariantAsync();
    }

    /// <summary>
    /// Settlement runs against a second, private MariaDB (the shared one on 3307 is other tests'),
    /// which is stopped while results arrive and started again: they are retried and settle once.
    /// </summary>
    [Fact]
    public async Task ResultsArrivingWhileTheDatabaseIsDownSettleOnceItIsBack()
    {
        var port = FreePort.Next();
        await using var second = await SecondMariaDb.StartAsync(port);
        await using var s = await SettlementStack.StartAsync("dbdown", maxReceiveCount: 100, settlementConnectionString: second.ConnectionString);
        // Seed in the database Settlement writes to.
        var userId = await second.ScalarAsync("INSERT INTO users (username, email) VALUES ('down', 'down@example.com'); SELECT LAST_INSERT_ID();");
        var trades = Enumerable.Range(0, 3).Select(_ => SettlementStack.NewMerchantTradeNo()).ToList();
        foreach (var t in trades)
            await second.ScalarAsync($"INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES ({userId}, 'deposit', 100, 'pending', '{t}'); SELECT LAST_INSERT_ID();");

        await second.StopAsync();
        foreach (var t in trades) await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(t, 100));
        // Delivered and failed at least twice while the database is down.
        await Poll.UntilAsync(() => Task.FromResult(s.RunnerLog.ToString().Split('\n').Count(l => l.Contains("\"failed\":") && !l.Contains("\"failed\":0")) >= 2), "failed deliveries", TimeSpan.FromSeconds(30));

        await second.StartAgainAsync();
        await s.WaitForQueueDrainedAsync(60);
        Assert.Equal(300, await second.ScalarAsync($"SELECT balance FROM users WHERE id = {userId}"));
        Assert.Equal(3, await second.ScalarAsync("SELECT COUNT(*) FROM ledger_entries"));
        Assert.Equal(0, await second.ScalarAsync(TestDatabase.InvariantViolationsCountSql));
    }
}

/// <summary>A row lock held elsewhere fails only the message that needs it, quickly, and it settles once the lock is gone.</summary>
public sealed class LockWaitTests
{
    [Fact]
    public async Task AStuckRowLockFailsOnlyItsMessageWithinTheLockWaitTimeoutAndItSettlesOnceReleased()
    {
        await using var s = await SettlementStack.StartAsync("lockwait", maxReceiveCount: 100, startRunner: false,
            settlementArgs: ["--Settlement:LockWaitTimeoutSeconds=1"]);
        var stuck = await s.SeedDepositAsync(500);
        var free = await s.SeedDepositAsync(300);

        // Another session holds the transaction row (an operator's console, a long report, a stuck Lambda…).
        await using var holder = new MySqlConnection(s.Db.ConnectionString);
        await holder.OpenAsync();
        var held = await holder.BeginTransactionAsync();
        await using (var lockRow = new MySqlCommand("SELECT id FROM transactions WHERE id = @id FOR UPDATE", holder, held))
        {
            lockRow.Parameters.AddWithValue("@id", stuck.Id);
            await lockRow.ExecuteScalarAsync();
        }

        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(stuck.MerchantTradeNo, 500));
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(free.MerchantTradeNo, 300));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var poll = s.CreateRunner().PollOnceAsync(CancellationToken.None);
        // Settlement's transaction waits for the held row (seen by the server, whatever the machine's load)…
        await RowLockWaits.WaitForAsync(s.Db, holder.ServerThread, "transactions", () => poll.IsCompleted, "settlement waiting for the held row", timeout: TimeSpan.FromSeconds(30));
        // …and gives up after its 1 s lock wait: the row stays held 6 s more, so a settlement waiting the server's default
        // (10 s in mariadb.sh, 50 s on RDS) would get the row and settle, and this message would not fail.
        var released = false;
        if (await Task.WhenAny(poll, Task.Delay(TimeSpan.FromSeconds(6))) != poll)
        {
            await held.RollbackAsync();
            released = true;
        }
        var batch = await poll.WaitAsync(TimeSpan.FromSeconds(60));
        clock.Stop();
        Assert.Equal((2, 1, 1), (batch.Received, batch.Failed, batch.Deleted)); // a batch item failure, not a failed batch
        Assert.Equal(200, batch.HttpStatus);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30)); // not the server's 50 s on RDS
        Assert.Equal("completed", await s.StatusAsync(free.Id));
        Assert.Equal("pending", await s.StatusAsync(stuck.Id));
        Assert.Equal(0, await s.EventsAsync(stuck.MerchantTradeNo));
        var transient = Assert.Single(s.Logs.WithEventId(5102));
        Assert.Equal(stuck.MerchantTradeNo, transient["MerchantTradeNo"]);
        Assert.Contains("Lock wait timeout", transient["Error"], StringComparison.OrdinalIgnoreCase);

        if (!released) await held.RollbackAsync();
        s.StartRunner();
        await s.WaitForQueueDrainedAsync();
        Assert.Equal("completed", await s.StatusAsync(stuck.Id));
        Assert.Equal(500, await s.BalanceAsync(stuck.UserId));
        Assert.Equal(1, await s.LedgerEntriesAsync(stuck.Id));
        Assert.Equal(1, await s.EventsAsync(stuck.MerchantTradeNo, "credited"));
        await s.Db.AssertLedgerInvariantAsync();
    }
}

public sealed class SettlementOptionsTests
{
    [Theory]
    [InlineData("--Settlement:LockWaitTimeoutSeconds=61", "LockWaitTimeoutSeconds")]
    [InlineData("--Settlement:LockWaitTimeoutSeconds=-1", "LockWaitTimeoutSeconds")]
    [InlineData("--Settlement:CommandTimeoutSeconds=0", "CommandTimeoutSeconds")]
    public async Task AnOutOfRangeTimeoutFailsAtStartWithItsName(string setting, string name)
    {
        var app = SettlementApp.Build([
            "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None",
            "--Ecpay:MerchantId=3002607", "--Ecpay:HashKey=pwFHCqoQZGmho4w6", "--Ecpay:HashIv=EkRm7iFT261dpevs",
            "--Database:ConnectionString=Server=127.0.0.1;Database=x", setting]);
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(name, e.Message);
        await app.DisposeAsync();
    }

    [Fact]
    public async Task SimulatedPaymentsAreRefusedInProduction()
    {
        var app = SettlementApp.Build([
            "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", "--Ecpay:Environment=production",
            "--Ecpay:MerchantId=3002607", "--Ecpay:HashKey=pwFHCqoQZGmho4w6", "--Ecpay:HashIv=EkRm7iFT261dpevs",
            "--Database:ConnectionString=Server=127.0.0.1;Database=x", "--Settlement:AllowSimulatedPayments=true"]);
        var e = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("AllowSimulatedPayments", e.Message);
        await app.DisposeAsync();
    }
}

/// <summary>On a database server whose time zone is not UTC, what Settlement writes is still UTC.</summary>
public sealed class NonUtcServerTests
{
    [Fact]
    public async Task TimestampsAreUtcOnAServerInUtcPlus8()
    {
        var port = FreePort.Next();
        await using var second = await SecondMariaDb.StartAsync(port, "settlement_tz");
        await second.ScalarAsync("SET GLOBAL time_zone = '+08:00'"); // every new session: Taiwan time
        MySqlConnection.ClearAllPools();
        // The test means something: the server's own clock reads 8 hours ahead of UTC.
        Assert.InRange(await second.ScalarAsync("SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW())"), 479, 481);

        await using var s = await SettlementStack.StartAsync("tz", settlementConnectionString: second.ConnectionString);
        var userId = await second.ScalarAsync("INSERT INTO users (username, email) VALUES ('tz', 'tz@example.com'); SELECT LAST_INSERT_ID();");
        var trade = SettlementStack.NewMerchantTradeNo();
        var id = await second.ScalarAsync($"INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no) VALUES ({userId}, 'deposit', 100, 'pending', '{trade}'); SELECT LAST_INSERT_ID();");
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(trade, 100));
        await s.WaitForQueueDrainedAsync();

        Assert.Equal(100, await second.ScalarAsync($"SELECT balance FROM users WHERE id = {userId}"));
        var now = DateTime.UtcNow;
        foreach (var sql in new[]
        {
            $"SELECT updated_at FROM transactions WHERE id = {id}",
            $"SELECT created_at FROM ledger_entries WHERE transaction_id = {id}",
            $"SELECT recorded_at FROM payment_events WHERE transaction_id = {id}",
        })
            Assert.InRange(await second.DateTimeAsync(sql), now.AddMinutes(-2), now.AddSeconds(5));
        Assert.Equal(0, await second.ScalarAsync(TestDatabase.InvariantViolationsCountSql));
    }
}

/// <summary>A second private MariaDB instance (infrastructure/local/mariadb.sh with MARIADB_PORT), removed on dispose.</summary>
internal sealed class SecondMariaDb : IAsyncDisposable
{
    private readonly int port;
    public string ConnectionString { get; }

    private SecondMariaDb(int port, string database)
    {
        this.port = port;
        ConnectionString = $"Server=127.0.0.1;Port={port};Database={database};User ID=root;Password=local-dev-only;Connection Timeout=2;Default Command Timeout=10";
    }

    public static async Task<SecondMariaDb> StartAsync(int port, string database = "settlement_down")
    {
        var db = new SecondMariaDb(port, database);
        await db.StartAgainAsync();
        await EcpayEvents.Cli.Database.DatabaseMigrator.MigrateAsync(db.ConnectionString, _ => { });
        return db;
    }

    public Task StartAgainAsync() => Task.Run(() => Script("start"));

    public Task StopAsync() => Task.Run(() => Script("stop"));

    public async Task<long> ScalarAsync(string sql)
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    public async Task<DateTime> DateTimeAsync(string sql)
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        return (DateTime)(await cmd.ExecuteScalarAsync())!;
    }

    private void Script(string verb)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "infrastructure/local/mariadb.sh"));
        psi.ArgumentList.Add(verb);
        psi.Environment["MARIADB_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"mariadb.sh {verb} (port {port}) exited {p.ExitCode}: {err.Result}");
    }

    public async ValueTask DisposeAsync()
    {
        MySqlConnection.ClearAllPools();
        await StopAsync();
        var dir = Path.Combine(RepoPaths.Root, ".local", $"mariadb-{port}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// A real InnoDB deadlock: another session holds the user's row and then asks for the transaction's row
/// while Settlement, holding the transaction's row, waits for the user's. InnoDB rolls back the smaller
/// transaction — Settlement's, because the other one has written hundreds of rows — and Settlement runs
/// the settlement again in the same delivery: credited once, no redelivery needed.
/// </summary>
public sealed class DeadlockTests
{
    [Fact]
    public async Task SettlementChosenAsTheDeadlockVictimRunsAgainAndCreditsOnce()
    {
        await using var s = await SettlementStack.StartAsync("deadlock", maxReceiveCount: 100, startRunner: false,
            settlementArgs: ["--Settlement:LockWaitTimeoutSeconds=30", "--Settlement:CommandTimeoutSeconds=60"]);
        var d = await s.SeedDepositAsync(500);
        var deadlocksBefore = await DeadlocksAsync(s);

        await using var other = new MySqlConnection(s.Db.ConnectionString);
        await other.OpenAsync();
        var otherTx = await other.BeginTransactionAsync();
        async Task<object?> OtherAsync(string sql, long id)
        {
            await using var cmd = new MySqlCommand(sql, other, otherTx) { CommandTimeout = 60 };
            cmd.Parameters.AddWithValue("@id", id);
            return await cmd.ExecuteScalarAsync();
        }
        // Heavier than a settlement (InnoDB rolls back the transaction that changed fewer rows)…
        await OtherAsync("INSERT INTO users (username, email) SELECT CONCAT('heavy', seq), 'heavy@example.com' FROM seq_1_to_300 WHERE @id > 0", 1);
        // …and holding the user's row, which the settlement will need after the transaction's.
        await OtherAsync("SELECT id FROM users WHERE id = @id FOR UPDATE", d.UserId);

        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        var poll = s.CreateRunner().PollOnceAsync(CancellationToken.None);
        // Settlement has locked the transaction's row and waits for the user's.
        var firstAttempt = await RowLockWaits.WaitForAsync(s.Db, other.ServerThread, "users", () => poll.IsCompleted,
            "settlement waiting for the user's row", timeout: TimeSpan.FromSeconds(30));
        Assert.False(firstAttempt is null, "the settlement did not wait for the user's row");

        // The cycle: the other session now asks for the transaction's row, which the settlement holds.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await OtherAsync("SELECT id FROM transactions WHERE id = @id FOR UPDATE", d.Id);
        clock.Stop();
        // It got the row at once (not after the settlement's 30 s lock wait or 60 s command timeout): InnoDB found the
        // deadlock and rolled the settlement back.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the other session waited {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(await DeadlocksAsync(s) > deadlocksBefore, "the server counted no deadlock");
        Assert.Equal(0, await s.EventsAsync(d.MerchantTradeNo));

        // The settlement runs again in the same delivery, in a new transaction that now waits for the transaction's
        // row; once the other session is done, it settles.
        var secondAttempt = await RowLockWaits.WaitForAsync(s.Db, other.ServerThread, "transactions", () => poll.IsCompleted,
            "the settlement's second attempt waiting for the transaction's row", except: firstAttempt, timeout: TimeSpan.FromSeconds(30));
        Assert.False(secondAttempt is null, "the settlement was not attempted again while the other session held the row");
        await otherTx.RollbackAsync();
        var batch = await poll.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal((1, 0, 1), (batch.Received, batch.Failed, batch.Deleted));
        Assert.Equal("completed", await s.StatusAsync(d.Id));
        Assert.Equal(500, await s.BalanceAsync(d.UserId));
        Assert.Equal(1, await s.LedgerEntriesAsync(d.Id));
        Assert.Equal(1, await s.EventsAsync(d.MerchantTradeNo, "credited"));
        Assert.Empty(s.Logs.WithEventId(5102)); // retried within the delivery, not handed back to SQS
        await s.Db.AssertLedgerInvariantAsync();
    }

    private static async Task<long> DeadlocksAsync(SettlementStack s) => long.Parse(
        await s.Db.ScalarAsync<string>("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'"),
        System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A database that accepts the connection and then says nothing (a black-holed route, an overloaded
/// proxy): each message fails on its own after Settlement's connect timeout, however long the
/// connection string would wait, so the invocation answers its batch item failures well inside the
/// Lambda timeout instead of timing the whole batch out.
/// </summary>
public sealed class SilentDatabaseTests
{
    [Fact]
    public async Task AMessageFailsAloneAfterTheConnectTimeoutNotTheConnectionStringsWait()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start(); // the kernel completes TCP handshakes; nobody ever speaks MySQL
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        await using var s = await SettlementStack.StartAsync("silent", startRunner: false,
            settlementConnectionString: $"Server=127.0.0.1;Port={port};Database=x;User ID=root;Password=x;Connection Timeout=120;Pooling=false",
            settlementArgs: ["--Settlement:ConnectTimeoutSeconds=1"]);
        var d = await s.SeedDepositAsync(500);
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        var got = await s.SqsClient.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = s.Sqs.QueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 60 });
        var m = Assert.Single(got.Messages);
        var batch = new SqsEvent([new SqsMessage(m.MessageId, m.ReceiptHandle, m.Body, null, null, null, "aws:sqs", null, "us-east-1")]);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await s.Http.PostAsJsonAsync(s.SettlementEventsUrl, batch, SqsEventJsonContext.Default.SqsEvent);
        var answer = await response.Content.ReadFromJsonAsync(SqsEventJsonContext.Default.SqsBatchResponse);
        watch.Stop();

        Assert.Equal(m.MessageId, Assert.Single(answer!.BatchItemFailures).ItemIdentifier);
        // Not the connection string's 120 s (the test's HTTP client would give up at 30 s first); a generous
        // bound for a loaded machine, not a speed target.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(25), $"answered after {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(0, await s.BalanceAsync(d.UserId));
        await s.Db.AssertLedgerInvariantAsync();
    }
}
