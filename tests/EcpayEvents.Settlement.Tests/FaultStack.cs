using System.Globalization;
using Amazon.SQS.Model;
using EcpayEvents.Cli.Database;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Testing;
using MySqlConnector;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Settlement.Tests;

/// <summary>The parts of the settlement path as processes on their own ports, each of which can be paused, killed and restarted.</summary>
internal sealed class FaultStack : IAsyncDisposable
{
    private static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;
    private readonly int mariaDbPort = int.TryParse(Environment.GetEnvironmentVariable("ECPAY_EVENTS_FAULTS_MARIADB_PORT"), out var p) ? p : 3391;
    private readonly int sqsPort = FreePort.Next(), settlementPort = FreePort.Next(), notificationsPort = FreePort.Next(), timeoutsPort = FreePort.Next();
    private readonly string sqsData = Path.Combine(Path.GetTempPath(), "ecpay-faults-sqs-" + Guid.NewGuid().ToString("N"));
    private readonly string database = "faults_" + Guid.NewGuid().ToString("N");
    private readonly int visibilityTimeout;
    private readonly List<ChildProcess> processes = [];
    private string queueUrl = "", dlqUrl = "";

    public ChildProcess? Sqs { get; private set; }
    public ChildProcess? Settlement { get; private set; }
    public ChildProcess? Notifications { get; private set; }
    public ChildProcess? Runner { get; private set; }
    public ChildProcess? Timeouts { get; private set; }
    public PaidQueryTradeInfo Ecpay { get; } = new(Credentials);
    private LocalStepFunctionsServer? stepFunctions;
    private StepFunctionsClient? stepFunctionsClient;
    public Uri NotificationsUrl => new($"http://127.0.0.1:{notificationsPort}");

    private FaultStack(int visibilityTimeout) => this.visibilityTimeout = visibilityTimeout;

    private string ServerConnectionString => $"Server=127.0.0.1;Port={mariaDbPort};User ID=root;Password={Environment.GetEnvironmentVariable("MARIADB_ROOT_PASSWORD") ?? "local-dev-only"};Connection Timeout=5;Default Command Timeout=30";
    private string ConnectionString => new MySqlConnectionStringBuilder(ServerConnectionString) { Database = database }.ConnectionString;
    private string MariaDbPidFile => Path.Combine(RepoPaths.Root, ".local", $"mariadb-{mariaDbPort}", "mysqld.pid");

    public static async Task<FaultStack> StartAsync(int visibilityTimeout)
    {
        var s = new FaultStack(visibilityTimeout);
        if (s.mariaDbPort == TestDatabase.Port) throw new InvalidOperationException("the fault suite pauses and kills its MariaDB: it must not be the shared one");
        await s.StartMariaDbAsync();
        await using (var c = new MySqlConnection(s.ServerConnectionString))
        {
            await c.OpenAsync();
            await using var create = new MySqlCommand($"CREATE DATABASE `{s.database}`", c);
            await create.ExecuteNonQueryAsync();
        }
        await DatabaseMigrator.MigrateAsync(s.ConnectionString, _ => { });
        await s.StartSqsAsync();
        await s.StartSettlementAsync();
        await s.StartNotificationsAsync();
        s.Runner = Track(ChildProcess.StartDotnet("event-source", "ecpay-events.dll",
            ["event-source", "--sqs-endpoint", $"http://127.0.0.1:{s.sqsPort}", "--queue-url", s.queueUrl, "--target", $"http://127.0.0.1:{s.settlementPort}/events"]), s);
        await s.Runner.WaitForLineAsync(l => l.Contains("\"event\":\"start\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        await s.Ecpay.StartAsync();
        await s.StartTimeoutsAsync();
        // The real state machine; Reconcile retried every 3 s (10 retries outlast any fault here). The checks after "paid"
        // are as far apart relative to the queue's visibility timeout as on AWS (120 s to 90 s): a result that failed once
        // during a fault comes back only after the visibility timeout, and five checks must outlast that.
        s.stepFunctions = await LocalStepFunctionsServer.StartAsync(new Uri($"http://127.0.0.1:{s.timeoutsPort}/events"),
            "--retry-interval-override", "Reconcile=3000", "--wait-override", $"WaitForSettlement={visibilityTimeout * 1000 * 4 / 3}");
        s.stepFunctionsClient = new StepFunctionsClient(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, new StepFunctionsClientOptions
        {
            ServiceUrl = s.stepFunctions.Endpoint, Region = "us-east-1", Credentials = new Amazon.Runtime.BasicAWSCredentials("local", "local"),
            StateMachineArn = LocalStepFunctionsServer.PaymentTimeoutArn,
        });
        return s;
    }

    private static ChildProcess Track(ChildProcess p, FaultStack s)
    {
        s.processes.Add(p);
        return p;
    }

    // ---- MariaDB (the suite's own: its port, its data folder) ----

    public async Task StartMariaDbAsync()
    {
        var script = ChildProcess.Start("mariadb.sh", "bash", [Path.Combine(RepoPaths.Root, "infrastructure/local/mariadb.sh"), "start"],
            new Dictionary<string, string?> { ["MARIADB_PORT"] = mariaDbPort.ToString(CultureInfo.InvariantCulture) }, RepoPaths.Root);
        if (await script.WaitForExitAsync(TimeSpan.FromMinutes(2)) != 0) throw new InvalidOperationException("mariadb.sh start failed:\n" + script.Output);
    }

    private int MariaDbPid => int.Parse(File.ReadAllText(MariaDbPidFile).Trim(), CultureInfo.InvariantCulture);
    public void PauseMariaDb() => ChildProcess.Signal(MariaDbPid, ChildProcess.SIGSTOP);
    public void ResumeMariaDb() => ChildProcess.Signal(MariaDbPid, ChildProcess.SIGCONT);

    public async Task KillMariaDbAsync()
    {
        var pid = MariaDbPid;
        ChildProcess.Signal(pid, ChildProcess.SIGKILL);
        await Poll.UntilAsync(() => Task.FromResult(!Directory.Exists($"/proc/{pid}")), "MariaDB to die", TimeSpan.FromSeconds(30));
    }

    private async Task StopMariaDbAsync()
    {
        var script = ChildProcess.Start("mariadb.sh", "bash", [Path.Combine(RepoPaths.Root, "infrastructure/local/mariadb.sh"), "stop"],
            new Dictionary<string, string?> { ["MARIADB_PORT"] = mariaDbPort.ToString(CultureInfo.InvariantCulture) }, RepoPaths.Root);
        await script.WaitForExitAsync(TimeSpan.FromMinutes(1));
    }

    // ---- the other parts ----

    public async Task StartSqsAsync()
    {
        Sqs = Track(ChildProcess.Start("sqs-server", RepoPaths.Node,
            ["--no-warnings", "sqs-server.mjs", "--port", sqsPort.ToString(CultureInfo.InvariantCulture), "--max-receive-count", "5",
             "--visibility-timeout", visibilityTimeout.ToString(CultureInfo.InvariantCulture), "--exit-with-stdin",
             .. Environment.GetEnvironmentVariable("ECPAY_EVENTS_FAULTS_SQS_IN_MEMORY") == "1" ? Array.Empty<string>() : ["--data-dir", sqsData]],
            workingDirectory: RepoPaths.LocalStack), this);
        var ready = await Sqs.WaitForLineAsync(l => l.Contains("\"ready\":true", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        using var json = System.Text.Json.JsonDocument.Parse(ready);
        queueUrl = json.RootElement.GetProperty("queueUrl").GetString()!;
        dlqUrl = json.RootElement.GetProperty("dlqUrl").GetString()!;
    }

    private string[] EcpayArgs => [$"--Ecpay:MerchantId={Credentials.MerchantId}", $"--Ecpay:HashKey={Credentials.HashKey}", $"--Ecpay:HashIv={Credentials.HashIv}", "--Logging:LogLevel:Default=Warning"];

    public async Task StartSettlementAsync()
    {
        Settlement = Track(ChildProcess.StartDotnet("Settlement", "EcpayEvents.Settlement.dll",
            [$"--urls=http://127.0.0.1:{settlementPort}", $"--Database:ConnectionString={ConnectionString}", .. EcpayArgs]), this);
        await WaitHealthyAsync(Settlement, settlementPort);
    }

    private async Task StartNotificationsAsync()
    {
        Notifications = Track(ChildProcess.StartDotnet("Notifications", "EcpayEvents.Notifications.dll",
            [$"--urls=http://127.0.0.1:{notificationsPort}", $"--Sqs:QueueUrl={queueUrl}", $"--Sqs:ServiceUrl=http://127.0.0.1:{sqsPort}", .. EcpayArgs]), this);
        await WaitHealthyAsync(Notifications, notificationsPort);
    }

    public async Task StartTimeoutsAsync()
    {
        Timeouts = Track(ChildProcess.StartDotnet("Timeouts", "EcpayEvents.Timeouts.dll",
            [$"--urls=http://127.0.0.1:{timeoutsPort}", $"--Database:ConnectionString={ConnectionString}",
             $"--Sqs:QueueUrl={queueUrl}", $"--Sqs:ServiceUrl=http://127.0.0.1:{sqsPort}", "--Sqs:Region=us-east-1",
             $"--Ecpay:BaseUrl={Ecpay.BaseUrl}", "--Ecpay:Query:MaxRetries=1", "--Ecpay:Query:AttemptTimeoutSeconds=5", "--Ecpay:Query:TotalTimeoutSeconds=10",
             .. EcpayArgs]), this);
        await WaitHealthyAsync(Timeouts, timeoutsPort);
    }

    /// <summary>The deposit's payment-timeout execution, as PaymentsApi starts it, due 2 s from now.</summary>
    public async Task ScheduleTimeoutAsync(Deposit d)
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        await new StepFunctionsTimeoutScheduler(stepFunctionsClient!, Microsoft.Extensions.Logging.Abstractions.NullLogger<StepFunctionsTimeoutScheduler>.Instance)
            .ScheduleAsync(new PaymentTimeoutInput(d.Id, d.MerchantTradeNo, new DateTimeOffset(expiresAt.UtcTicks - expiresAt.UtcTicks % 10, TimeSpan.Zero)), CancellationToken.None);
    }

    /// <summary>Until no execution is running; then how many ended in each status (a failed one with its error).</summary>
    public async Task<Dictionary<string, int>> WaitForExecutionsAsync(int timeoutSeconds)
    {
        var ended = new List<ExecutionListItem>();
        await Poll.UntilAsync(async () =>
        {
            ended.Clear();
            await foreach (var e in stepFunctionsClient!.ListAllExecutionsAsync(LocalStepFunctionsServer.PaymentTimeoutArn)) ended.Add(e);
            return ended.All(e => e.Status != "RUNNING");
        }, "every payment-timeout execution to end", TimeSpan.FromSeconds(timeoutSeconds));
        var statuses = new Dictionary<string, int>();
        foreach (var e in ended)
        {
            var key = e.Status == "SUCCEEDED" ? e.Status : $"{e.Status} ({(await stepFunctionsClient!.DescribeExecutionAsync(e.ExecutionArn)).Error})";
            statuses[key] = statuses.GetValueOrDefault(key) + 1;
        }
        return statuses;
    }

    private static async Task WaitHealthyAsync(ChildProcess p, int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(async () =>
        {
            if (p.HasExited) throw new InvalidOperationException($"{p.Name} exited:\n{p.Tail()}");
            try { return (await http.GetAsync($"http://127.0.0.1:{port}/healthz")).IsSuccessStatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        }, p.Name + " to be healthy", TimeSpan.FromSeconds(60));
    }

    /// <summary>What the faults did to delivery, from the runner's log: messages Settlement failed or never got, receives that failed.</summary>
    public string RunnerSummary()
    {
        var lines = Runner!.Lines;
        var batches = lines.Where(l => l.Contains("\"event\":\"batch\"", StringComparison.Ordinal))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        int Count(string e) => lines.Count(l => l.Contains($"\"event\":\"{e}\"", StringComparison.Ordinal));
        return $"{batches.Count} batches, {batches.Sum(b => b.GetProperty("received").GetInt32())} messages received, " +
            $"{batches.Sum(b => b.GetProperty("failed").GetInt32())} failed (redelivered later), {Count("poll-error")} failed receives, " +
            $"{Count("target-down")} waits for Settlement, {Count("delete-failed")} failed deletes";
    }

    // ---- seeding and checks ----

    public async Task<IReadOnlyList<Deposit>> SeedDepositsAsync(int count, int users)
    {
        var deposits = new List<Deposit>();
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        var userIds = new List<long>();
        for (var u = 0; u < users; u++)
        {
            await using var insert = new MySqlCommand("INSERT INTO users (username, email) VALUES (@n, @e); SELECT LAST_INSERT_ID();", c);
            var name = "f" + Guid.NewGuid().ToString("N")[..12];
            insert.Parameters.AddWithValue("@n", name);
            insert.Parameters.AddWithValue("@e", name + "@example.com");
            userIds.Add(Convert.ToInt64(await insert.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
        }
        for (var i = 0; i < count; i++)
        {
            var user = userIds[i % users];
            var merchantTradeNo = SettlementStack.NewMerchantTradeNo();
            var amount = 100 + i % 50;
            await using var insert = new MySqlCommand("""
                INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at)
                VALUES (@u, 'deposit', @a, 'pending', @m, 'ALL', 'points', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR); SELECT LAST_INSERT_ID();
                """, c);
            insert.Parameters.AddWithValue("@u", user);
            insert.Parameters.AddWithValue("@a", amount);
            insert.Parameters.AddWithValue("@m", merchantTradeNo);
            deposits.Add(new Deposit(Convert.ToInt64(await insert.ExecuteScalarAsync(), CultureInfo.InvariantCulture), user, amount, merchantTradeNo));
        }
        return deposits;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var c = new MySqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>How many of these deposits are completed with at least one ledger entry.</summary>
    public async Task<int> CreditedAsync(IReadOnlyList<long> ids)
    {
        if (ids.Count == 0) return 0;
        var credited = 0;
        foreach (var chunk in ids.Chunk(1000))
            credited += (int)await ScalarAsync($"SELECT COUNT(DISTINCT l.transaction_id) FROM ledger_entries l JOIN transactions t ON t.id = l.transaction_id AND t.status = 'completed' WHERE l.transaction_id IN ({string.Join(',', chunk)})");
        return credited;
    }

    public async Task WaitForQueueDrainedAsync(int timeoutSeconds)
    {
        using var sqs = new Amazon.SQS.AmazonSQSClient(new Amazon.Runtime.BasicAWSCredentials("local", "local"), new Amazon.SQS.AmazonSQSConfig { ServiceURL = $"http://127.0.0.1:{sqsPort}", AuthenticationRegion = "us-east-1" });
        await Poll.UntilAsync(async () =>
        {
            var a = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = queueUrl, AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] });
            return a.Attributes.Values.All(v => v == "0");
        }, "the queue to drain", TimeSpan.FromSeconds(timeoutSeconds));
    }

    /// <summary>What is in the dead-letter queue: each message's merchantTradeNo and receive count.</summary>
    public async Task<IReadOnlyList<string>> DeadLettersAsync()
    {
        using var sqs = new Amazon.SQS.AmazonSQSClient(new Amazon.Runtime.BasicAWSCredentials("local", "local"), new Amazon.SQS.AmazonSQSConfig { ServiceURL = $"http://127.0.0.1:{sqsPort}", AuthenticationRegion = "us-east-1" });
        var found = new List<string>();
        while (true)
        {
            var got = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = dlqUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 0, VisibilityTimeout = 300, MessageAttributeNames = ["All"], MessageSystemAttributeNames = ["All"],
            });
            if (got.Messages is not { Count: > 0 }) return found;
            found.AddRange(got.Messages.Select(m => $"{m.MessageAttributes.GetValueOrDefault("merchantTradeNo")?.StringValue} received {m.Attributes.GetValueOrDefault("ApproximateReceiveCount")}×"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in processes) await p.DisposeAsync();
        if (stepFunctions is not null) await stepFunctions.DisposeAsync();
        await Ecpay.DisposeAsync();
        try
        {
            await using var c = new MySqlConnection(ServerConnectionString);
            await c.OpenAsync();
            await using var drop = new MySqlCommand($"DROP DATABASE IF EXISTS `{database}`", c);
            await drop.ExecuteNonQueryAsync();
        }
        catch (MySqlException)
        {
        }
        await StopMariaDbAsync();
        try { Directory.Delete(sqsData, recursive: true); } catch (IOException) { }
    }
}
