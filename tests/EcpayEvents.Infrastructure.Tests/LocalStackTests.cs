using Amazon.SQS.Model;
using EcpayEvents.Testing;

namespace EcpayEvents.Infrastructure.Tests;

public sealed class LocalStackTests
{
    [Fact]
    public async Task MigrationsCreateTheLedgerTablesAndAreIdempotent()
    {
        await using var db = await TestDatabase.CreateAsync("migrate");
        var tables = await db.ScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('users','transactions','payment_events','ledger_entries')");
        Assert.Equal(4, tables);
        Assert.Equal(0, await EcpayEvents.Cli.Database.DatabaseMigrator.MigrateAsync(db.ConnectionString, _ => { }));
        await db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task LedgerInvariantCheckNoticesABalanceWithoutLedgerEntries()
    {
        await using var db = await TestDatabase.CreateAsync("invariant");
        await db.ExecuteAsync("INSERT INTO users (username, email, balance) VALUES ('a', 'a@example.com', 100)");
        await Assert.ThrowsAsync<LedgerInvariantViolation>(db.AssertLedgerInvariantAsync);
    }

    [Fact]
    public async Task SqsServerMovesAMessageToTheDeadLetterQueueAfterMaxReceives()
    {
        await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 2, visibilityTimeoutSeconds: 1);
        using var client = sqs.CreateClient();
        await client.SendMessageAsync(sqs.QueueUrl, "poison");
        for (var i = 0; i < 2; i++)
        {
            var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 1 });
            Assert.Single(got.Messages);
            await Task.Delay(1200);
        }
        var again = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 2 });
        Assert.True(again.Messages is null || again.Messages.Count == 0);
        var dead = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.DeadLetterQueueUrl, WaitTimeSeconds = 5 });
        Assert.Equal("poison", Assert.Single(dead.Messages).Body);
    }

    /// <summary>
    /// With --data-dir a killed SQS server loses nothing it acknowledged: a queued message and one in flight are
    /// there after a restart on the same folder (in memory, a kill loses both).
    /// </summary>
    [Fact]
    public async Task SqsServerWithADataDirKeepsItsMessagesAcrossAKill()
    {
        var dataDir = Directory.CreateTempSubdirectory("ecpay-sqs-data-").FullName;
        try
        {
            var port = FreePort.Next();
            await using (var first = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 1, port: port, dataDir: dataDir))
            {
                using var client = first.CreateClient();
                await client.SendMessageAsync(first.QueueUrl, "in flight");
                Assert.Single((await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = first.QueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 1 })).Messages);
                await client.SendMessageAsync(first.QueueUrl, "queued");
            } // killed (SIGKILL)

            await using var second = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 1, port: port, dataDir: dataDir);
            using var again = second.CreateClient();
            var bodies = new HashSet<string>();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (bodies.Count < 2 && DateTime.UtcNow < deadline)
            {
                var got = await again.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = second.QueueUrl, WaitTimeSeconds = 1, MaxNumberOfMessages = 10, VisibilityTimeout = 30 });
                foreach (var m in got.Messages ?? []) bodies.Add(m.Body);
            }
            Assert.Equal(["in flight", "queued"], bodies.Order());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>
    /// With --data-dir a message made visible again (what `dlq list` and the event source do with messages they
    /// only looked at) stays in the queue: fauxqs alone lost it, failing with MessageNotInflight.
    /// </summary>
    [Fact]
    public async Task SqsServerWithADataDirKeepsAMessageMadeVisibleAgain()
    {
        var dataDir = Directory.CreateTempSubdirectory("ecpay-sqs-data-").FullName;
        try
        {
            await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 30, dataDir: dataDir);
            using var client = sqs.CreateClient();
            await client.SendMessageAsync(sqs.DeadLetterQueueUrl, "dead letter");
            var received = Assert.Single((await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.DeadLetterQueueUrl, WaitTimeSeconds = 5, VisibilityTimeout = 30 })).Messages);

            await client.ChangeMessageVisibilityAsync(sqs.DeadLetterQueueUrl, received.ReceiptHandle, 0);

            var again = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.DeadLetterQueueUrl, WaitTimeSeconds = 5, MessageSystemAttributeNames = ["All"] });
            var message = Assert.Single(again.Messages);
            Assert.Equal("dead letter", message.Body);
            Assert.Equal("2", message.Attributes["ApproximateReceiveCount"]);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string script, IDictionary<string, string> env, TimeSpan timeout, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {timeout}: {await stdout}{await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task MariaDbScriptStartAndStatusAreIdempotentAndTheServerRunsInUtc()
    {
        await using var db = await TestDatabase.CreateAsync("mariadbsh");
        var env = new Dictionary<string, string> { ["MARIADB_PORT"] = TestDatabase.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var script = Path.Combine(RepoPaths.LocalStack, "mariadb.sh");
        for (var i = 0; i < 2; i++)
        {
            var start = await RunAsync(script, env, TimeSpan.FromSeconds(60), "start");
            Assert.True(start.Exit == 0, start.Stderr);
            Assert.Contains("already running", start.Stderr);
        }
        var status = await RunAsync(script, env, TimeSpan.FromSeconds(30), "status");
        Assert.Equal(0, status.Exit);
        Assert.Contains($"running on 127.0.0.1:{TestDatabase.Port}", status.Stdout);
        // The server the tests share runs in UTC: a new session's NOW() is UTC_TIMESTAMP(), and so is the global zone's
        // (what every new session starts with). It may have been started by an older version of the script (time_zone
        // SYSTEM on a UTC machine), so the setting itself is not compared here; the fresh server that
        // MariaDbScriptPutsTheSocketInAShortPath… starts must show the script's own --default-time-zone=+00:00.
        var zone = await db.ScalarAsync<string>("SELECT @@global.time_zone");
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())"));
        Assert.True(await db.ScalarAsync<long>("SELECT COALESCE(TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', @@global.time_zone)), -1)") == 0,
            $"the shared MariaDB's time zone is {zone}, not UTC");
    }

    [Fact]
    public async Task MariaDbScriptPutsTheSocketInAShortPathUnderADeepCheckoutAndRecoversAnUnfinishedFirstRun()
    {
        // A checkout so deep that <checkout>/.local/mariadb-PORT/mysqld.sock would not fit a Unix socket path (107 bytes).
        var deep = Path.Combine(Path.GetTempPath(), "ecpay-deep-" + Guid.NewGuid().ToString("N"), new string('d', 60), new string('e', 40));
        var local = Path.Combine(deep, "infrastructure", "local");
        Directory.CreateDirectory(local);
        File.Copy(Path.Combine(RepoPaths.LocalStack, "mariadb.sh"), Path.Combine(local, "mariadb.sh"));
        File.Copy(Path.Combine(RepoPaths.LocalStack, "tooling.sh"), Path.Combine(local, "tooling.sh"));
        var port = FreePort.Next();
        var env = new Dictionary<string, string> { ["MARIADB_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var script = Path.Combine(local, "mariadb.sh");
        var baseDir = Path.Combine(deep, ".local", $"mariadb-{port}");
        try
        {
            Assert.True(Path.Combine(baseDir, "mysqld.sock").Length > 107);
            var start = await RunAsync(script, env, TimeSpan.FromSeconds(120), "start");
            Assert.True(start.Exit == 0, start.Stderr);
            Assert.Equal(0, (await RunAsync(script, env, TimeSpan.FromSeconds(30), "status")).Exit);
            var zone = await RunAsync(script, env, TimeSpan.FromSeconds(30), "client", "-N", "-e", "SELECT @@global.time_zone");
            Assert.Equal("+00:00", zone.Stdout.Trim());
            Assert.Equal(0, (await RunAsync(script, env, TimeSpan.FromSeconds(60), "stop")).Exit);

            // A first run that never finished (no .setup-done, its data unusable) is set up again on the next start.
            File.Delete(Path.Combine(baseDir, ".setup-done"));
            File.WriteAllText(Path.Combine(baseDir, ".setup-started"), "");
            File.WriteAllBytes(Path.Combine(baseDir, "data", "ibdata1"), new byte[64 * 1024]);
            var again = await RunAsync(script, env, TimeSpan.FromSeconds(120), "start");
            Assert.True(again.Exit == 0, again.Stderr);
            Assert.Contains("did not finish", again.Stderr);
            Assert.Equal(0, (await RunAsync(script, env, TimeSpan.FromSeconds(30), "status")).Exit);
        }
        finally
        {
            await RunAsync(script, env, TimeSpan.FromSeconds(60), "stop");
            Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(deep))!, recursive: true);
        }
    }

    [Fact]
    public async Task RunShRefusesAPortAlreadyInUseBeforeInstallingOrBuilding()
    {
        using var occupied = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        occupied.Start();
        var busy = ((System.Net.IPEndPoint)occupied.LocalEndpoint).Port;
        string P() => FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string>
        {
            ["PAYMENTS_API_PORT"] = P(), ["NOTIFICATIONS_PORT"] = P(), ["SETTLEMENT_PORT"] = P(), ["TIMEOUTS_PORT"] = P(),
            ["SANDBOX_PORT"] = P(), ["COGNITO_PORT"] = P(), ["STEPFUNCTIONS_PORT"] = P(), ["MARIADB_PORT"] = TestDatabase.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SQS_PORT"] = busy.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var run = await RunAsync(Path.Combine(RepoPaths.Root, "run.sh"), env, TimeSpan.FromSeconds(30));
        Assert.Equal(1, run.Exit);
        Assert.Contains($"port {busy} is already in use", run.Stderr);
        Assert.Contains("SQS", run.Stderr);
        Assert.DoesNotContain("Building", run.Stdout);
    }

    // 6566 is a "bad port" for browsers and Node's fetch (the Step Functions server calls Timeouts with it):
    // the stack used to start and then fail with "fetch failed: bad port".
    [Theory]
    [InlineData("TIMEOUTS_PORT", "6566", "port 6566 is one that browsers and Node's fetch refuse", "Timeouts")]
    [InlineData("PAYMENTS_API_PORT", "6000", "port 6000 is one that browsers and Node's fetch refuse", "PaymentsApi")]
    [InlineData("SANDBOX_PORT", "10080", "port 10080 is one that browsers and Node's fetch refuse", "ECPay sandbox")]
    [InlineData("NOTIFICATIONS_PORT", "70000", "70000 is not a port number", "Notifications")]
    [InlineData("SQS_PORT", "45x", "'45x' is not a port number", "SQS")]
    public async Task RunShRefusesAPortBrowsersAndFetchBlockBeforeInstallingOrBuilding(string variable, string port, string message, string part)
    {
        string P() => FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string>
        {
            ["PAYMENTS_API_PORT"] = P(), ["NOTIFICATIONS_PORT"] = P(), ["SETTLEMENT_PORT"] = P(), ["TIMEOUTS_PORT"] = P(),
            ["SANDBOX_PORT"] = P(), ["STEPFUNCTIONS_PORT"] = P(), ["SQS_PORT"] = P(),
            ["MARIADB_PORT"] = TestDatabase.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        env[variable] = port;
        var run = await RunAsync(Path.Combine(RepoPaths.Root, "run.sh"), env, TimeSpan.FromSeconds(30));
        Assert.True(run.Exit == 1, run.Stdout + run.Stderr);
        Assert.Contains(message, run.Stderr);
        Assert.Contains(part, run.Stderr);
        Assert.DoesNotContain("Building", run.Stdout);
    }
}
