using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Amazon.SQS.Model;
using EcpayEvents.Cli.Database;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EcpayEvents.Settlement.Tests;

[CollectionDefinition(nameof(FaultSuiteTests), DisableParallelization = true)]
public sealed class FaultSuiteCollection;

/// <summary>
/// The fault suite: under a steady, bounded load of genuine ReturnURL posts for fresh deposits, each part of
/// the settlement path is paused (SIGSTOP/SIGCONT) and killed and restarted in turn — a MariaDB of its own
/// (never the shared one), the SQS server (fauxqs with its SQLite persistence), Settlement, Timeouts — while
/// the load generator re-sends every post not answered 1|OK, as ECPay does. One deposit in ten is paid but its
/// post never arrives: its payment-timeout execution (local Step Functions server, the real state machine,
/// retries 3 s apart) has Timeouts ask ECPay (a stand-in answering "paid") and enqueue the result. Afterwards
/// every post answered 1|OK and every such payment is credited exactly once, every balance equals its ledger,
/// every execution succeeded and the dead-letter queue is empty. Prints a table.
///
/// Short variant in the normal test run; the full one (40 posts/s, 10 s faults) with
///   ECPAY_EVENTS_FAULTS=full tests/EcpayEvents.Settlement.Tests/bin/Debug/net10.0/EcpayEvents.Settlement.Tests -class '*FaultSuiteTests'
/// (the table is also written to .local/fault-suite/). ECPAY_EVENTS_FAULTS_MARIADB_PORT picks the suite's
/// MariaDB port (default 3391; its data stays under .local/mariadb-PORT). ECPAY_EVENTS_FAULTS_SQS_IN_MEMORY=1
/// runs fauxqs without --data-dir, to measure what a kill of an in-memory SQS server loses (the suite then fails).
/// </summary>
[Collection(nameof(FaultSuiteTests))]
public sealed class FaultSuiteTests
{
    private sealed record Variant(string Name, int PostsPerSecond, int FaultSeconds, int GapSeconds, int VisibilityTimeout);

    private static Variant Chosen => Environment.GetEnvironmentVariable("ECPAY_EVENTS_FAULTS") == "full"
        ? new("full", PostsPerSecond: 40, FaultSeconds: 10, GapSeconds: 2, VisibilityTimeout: 30)
        : new("short", PostsPerSecond: 15, FaultSeconds: 3, GapSeconds: 2, VisibilityTimeout: 10);

    [Fact]
    public async Task EveryAcknowledgedPostIsCreditedOnceThroughPausesAndRestartsOfEveryPart()
    {
        var v = Chosen;
        await using var stack = await FaultStack.StartAsync(v.VisibilityTimeout);
        var faults = new List<(string Name, Func<Task> Begin, Func<Task> End)>
        {
            ("MariaDB paused", () => { stack.PauseMariaDb(); return Task.CompletedTask; }, () => { stack.ResumeMariaDb(); return Task.CompletedTask; }),
            ("MariaDB killed, restarted", stack.KillMariaDbAsync, stack.StartMariaDbAsync),
            ("SQS server paused", () => { stack.Sqs!.Pause(); return Task.CompletedTask; }, () => { stack.Sqs!.Resume(); return Task.CompletedTask; }),
            ("SQS server killed, restarted", () => stack.Sqs!.KillAsync(), stack.StartSqsAsync),
            ("Settlement paused", () => { stack.Settlement!.Pause(); return Task.CompletedTask; }, () => { stack.Settlement!.Resume(); return Task.CompletedTask; }),
            ("Settlement killed, restarted", () => stack.Settlement!.KillAsync(), stack.StartSettlementAsync),
            ("Timeouts paused", () => { stack.Timeouts!.Pause(); return Task.CompletedTask; }, () => { stack.Timeouts!.Resume(); return Task.CompletedTask; }),
            ("Timeouts killed, restarted", () => stack.Timeouts!.KillAsync(), stack.StartTimeoutsAsync),
        };
        var loadSeconds = 3 + faults.Count * (v.FaultSeconds + v.GapSeconds);
        var deposits = await stack.SeedDepositsAsync(v.PostsPerSecond * loadSeconds, users: 200);

        // One in ten: paid, but ECPay's post is lost; only the payment's timeout finds it.
        var postLost = deposits.Where((_, i) => i % 10 == 9).ToHashSet();
        foreach (var d in postLost) stack.Ecpay.SetPaid(d);
        var load = new LoadGenerator(stack.NotificationsUrl, d => postLost.Contains(d) ? stack.ScheduleTimeoutAsync(d) : null);
        var clock = Stopwatch.StartNew();
        var posting = load.RunAsync(deposits, v.PostsPerSecond);
        await Task.Delay(TimeSpan.FromSeconds(3));
        foreach (var (_, begin, end) in faults)
        {
            await begin();
            await Task.Delay(TimeSpan.FromSeconds(v.FaultSeconds));
            await end();
            await Task.Delay(TimeSpan.FromSeconds(v.GapSeconds));
        }
        await posting;
        var loadHeld = clock.Elapsed;

        var acknowledged = load.Acknowledged;
        var owed = acknowledged.Concat(postLost.Select(d => d.Id)).ToList();
        // Once the queue holds nothing (visible or in flight) and no execution runs, nothing more can be credited:
        // what is missing then is lost, and the table says how much.
        await stack.WaitForQueueDrainedAsync(180);
        var executions = await stack.WaitForExecutionsAsync(300);
        await stack.WaitForQueueDrainedAsync(60);
        try
        {
            await SettlementStack.WaitUntilAsync(async () => await stack.CreditedAsync(owed) >= owed.Count, 30, "every acknowledged or reconciled deposit to be credited");
        }
        catch (TimeoutException)
        {
        }

        var credited = await stack.CreditedAsync(deposits.Select(d => d.Id).ToList());
        var twice = await stack.ScalarAsync("SELECT COUNT(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING COUNT(*) > 1) t");
        var lost = owed.Count - await stack.CreditedAsync(owed);
        var outOfBalance = await stack.ScalarAsync(TestDatabase.InvariantViolationsCountSql);
        var deadLetters = await stack.DeadLettersAsync();

        var table = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"fault suite ({v.Name}), {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}")
            .AppendLine("| load held | faults injected | posts sent | 1\\|OK | 503 | no answer | post lost → timeout | executions | credited | credited twice | lost | out of balance | DLQ |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
            .AppendLine(CultureInfo.InvariantCulture,
                $"| {v.PostsPerSecond}/s for {loadHeld.TotalSeconds:0} s, {deposits.Count} deposits | {string.Join("; ", faults.Select(f => f.Name))} ({v.FaultSeconds} s each) | {load.Sent} | {load.Ok} | {load.Unavailable} | {load.NoAnswer} | {postLost.Count} | {string.Join(", ", executions.Select(e => $"{e.Key} {e.Value}"))} | {credited} | {twice} | {lost} | {outOfBalance} | {deadLetters.Count} |");
        table.AppendLine(CultureInfo.InvariantCulture, $"event-source runner: {stack.RunnerSummary()}");
        foreach (var d in deadLetters) table.AppendLine(CultureInfo.InvariantCulture, $"  DLQ: {d}");
        if (load.Other.Count > 0) table.AppendLine("  other answers: " + string.Join(", ", load.Other.Select(o => $"{o.Key} ×{o.Value}")));
        Report(table.ToString());

        Assert.Equal(deposits.Count - postLost.Count, acknowledged.Count); // every post was eventually answered 1|OK
        Assert.Equal(0, lost);
        Assert.Equal(0, twice);
        Assert.Equal(owed.Count, credited);
        Assert.Equal(postLost.Count, executions.GetValueOrDefault("SUCCEEDED"));
        Assert.Equal(postLost.Count, executions.Values.Sum());
        Assert.Equal(0, outOfBalance);
        Assert.Empty(deadLetters);
    }

    private static void Report(string table)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(table);
        Console.Error.WriteLine(table);
        var dir = Path.Combine(RepoPaths.Root, ".local", "fault-suite");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, $"{DateTime.UtcNow:yyyyMMddTHHmmssZ}.md"), table);
    }

    /// <summary>
    /// Posts each deposit's genuine ReturnURL notification at a steady rate (bounded in flight); a post not
    /// answered 1|OK (503, no answer within ECPay's 10 s, connection refused) is re-sent a second later, as ECPay would.
    /// </summary>
    private sealed class LoadGenerator(Uri notifications, Func<Deposit, Task?> instead)
    {
        private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(10) };
        private readonly SemaphoreSlim inFlight = new(64);
        private readonly List<long> acknowledged = [];
        private int sent, ok, unavailable, noAnswer;

        public System.Collections.Concurrent.ConcurrentDictionary<string, int> Other { get; } = new();
        public int Sent => sent;
        public int Ok => ok;
        public int Unavailable => unavailable;
        public int NoAnswer => noAnswer;
        public IReadOnlyList<long> Acknowledged { get { lock (acknowledged) return acknowledged.ToList(); } }

        public async Task RunAsync(IReadOnlyList<Deposit> deposits, int perSecond)
        {
            var start = Stopwatch.StartNew();
            var posts = new List<Task>();
            for (var i = 0; i < deposits.Count; i++)
            {
                var due = TimeSpan.FromSeconds((double)i / perSecond);
                if (due > start.Elapsed) await Task.Delay(due - start.Elapsed);
                if (instead(deposits[i]) is { } other)
                {
                    posts.Add(other);
                    continue;
                }
                await inFlight.WaitAsync();
                posts.Add(PostUntilAcknowledgedAsync(deposits[i]));
            }
            await Task.WhenAll(posts);
        }

        private async Task PostUntilAcknowledgedAsync(Deposit d)
        {
            try
            {
                var body = EcpayForm.ToFormBody(SettlementStack.ReturnFields(d.MerchantTradeNo, d.Amount, tradeNo: "26" + d.Id.ToString("D14", CultureInfo.InvariantCulture)));
                for (var attempt = 0; attempt < 120; attempt++)
                {
                    if (attempt > 0) await Task.Delay(TimeSpan.FromSeconds(1));
                    Interlocked.Increment(ref sent);
                    try
                    {
                        using var content = new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded");
                        using var response = await http.PostAsync(new Uri(notifications, "/ecpay/return"), content);
                        var answer = await response.Content.ReadAsStringAsync();
                        if (response.StatusCode == HttpStatusCode.OK && answer == "1|OK")
                        {
                            Interlocked.Increment(ref ok);
                            lock (acknowledged) acknowledged.Add(d.Id);
                            return;
                        }
                        if (response.StatusCode == HttpStatusCode.ServiceUnavailable) Interlocked.Increment(ref unavailable);
                        else Other.AddOrUpdate($"{(int)response.StatusCode} {answer}", 1, (_, n) => n + 1);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        Interlocked.Increment(ref noAnswer);
                    }
                }
            }
            finally
            {
                inFlight.Release();
            }
        }
    }
}

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
        await SettlementStack.WaitUntilAsync(() => Task.FromResult(!Directory.Exists($"/proc/{pid}")), 30, "MariaDB to die");
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
        await SettlementStack.WaitUntilAsync(async () =>
        {
            ended.Clear();
            await foreach (var e in stepFunctionsClient!.ListAllExecutionsAsync(LocalStepFunctionsServer.PaymentTimeoutArn)) ended.Add(e);
            return ended.All(e => e.Status != "RUNNING");
        }, timeoutSeconds, "every payment-timeout execution to end");
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
        await SettlementStack.WaitUntilAsync(async () =>
        {
            if (p.HasExited) throw new InvalidOperationException($"{p.Name} exited:\n{p.Tail()}");
            try { return (await http.GetAsync($"http://127.0.0.1:{port}/healthz")).IsSuccessStatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        }, 60, p.Name + " to be healthy");
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
        await SettlementStack.WaitUntilAsync(async () =>
        {
            var a = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = queueUrl, AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] });
            return a.Attributes.Values.All(v => v == "0");
        }, timeoutSeconds, "the queue to drain");
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

/// <summary>ECPay's QueryTradeInfo/V5 for the fault suite: every deposit it was told about is paid (signed answer), any other is not found.</summary>
internal sealed class PaidQueryTradeInfo(EcpayCredentials credentials) : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Amount, string TradeNo)> paid = new();
    private WebApplication? app;

    public Uri BaseUrl => app!.BoundAddress();

    public void SetPaid(Deposit d) => paid[d.MerchantTradeNo] = (d.Amount, "27" + d.Id.ToString("D14", CultureInfo.InvariantCulture));

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/Cashier/QueryTradeInfo/V5", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var merchantTradeNo = form["MerchantTradeNo"].ToString();
            var now = DateTimeOffset.UtcNow;
            var isPaid = paid.TryGetValue(merchantTradeNo, out var trade);
            var fields = new List<KeyValuePair<string, string>>
            {
                new("MerchantID", credentials.MerchantId), new("MerchantTradeNo", merchantTradeNo), new("StoreID", ""),
                new("TradeNo", isPaid ? trade.TradeNo : ""), new("TradeAmt", isPaid ? trade.Amount.ToString(CultureInfo.InvariantCulture) : "0"),
                new("PaymentDate", isPaid ? TaiwanTime.Format(now) : ""), new("PaymentType", isPaid ? "Credit_CreditCard" : ""),
                new("HandlingCharge", "0"), new("PaymentTypeChargeFee", "0"), new("TradeDate", TaiwanTime.Format(now.AddMinutes(-1))),
                new("TradeStatus", isPaid ? "1" : "10200047"), new("ItemName", "points"),
                new("CustomField1", ""), new("CustomField2", ""), new("CustomField3", ""), new("CustomField4", ""),
            };
            fields.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(fields, credentials.HashKey, credentials.HashIv)));
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(EcpayForm.ToFormBody(fields));
        });
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
