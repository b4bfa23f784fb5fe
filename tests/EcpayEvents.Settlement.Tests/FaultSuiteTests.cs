using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;

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
            await Poll.UntilAsync(async () => await stack.CreditedAsync(owed) >= owed.Count, "every acknowledged or reconciled deposit to be credited", TimeSpan.FromSeconds(30));
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
                var body = EcpayForm.ToFormBody(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount, tradeNo: "26" + d.Id.ToString("D14", CultureInfo.InvariantCulture)));
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
