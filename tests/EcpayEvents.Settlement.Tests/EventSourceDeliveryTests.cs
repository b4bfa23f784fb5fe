using EcpayEvents.Testing;
using System.Diagnostics;
using System.Globalization;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// The event-source runner as the local stack runs it (`ecpay-events event-source`, a process, its own SQS
/// client), between real Notifications, fauxqs (30 s visibility, 5 receives, as ./run.sh) and Settlement:
/// every post answered 1|OK is credited promptly and exactly once, and nothing reaches the dead-letter queue.
/// </summary>
public sealed class EventSourceDeliveryTests
{
    /// <summary>
    /// A quiet queue: each post arrives while the runner is in the middle of a long poll. A receive the
    /// client gives up on before the server answers it takes the message and hides it (here for 30 s, and
    /// after five such receives SQS dead-letters it unseen); the runner's client must outwait its long poll.
    /// </summary>
    [Fact]
    public async Task PostsToAnIdleStackAreEachCreditedWithinTwoSeconds()
    {
        await using var s = await SettlementStack.StartAsync("idle", maxReceiveCount: 5, visibilityTimeoutSeconds: 30, startRunner: false);
        var runner = await s.StartRunnerProcessAsync("--wait-seconds", "5"); // as ./run.sh starts it

        var late = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            // The idle time is the scenario: longer than a long poll, so each post lands at another point of one.
            await Task.Delay(TimeSpan.FromMilliseconds(4000 + Random.Shared.Next(2000)));
            var d = await s.SeedDepositAsync(100 + i);
            var clock = Stopwatch.StartNew();
            await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount));
            try
            {
                await Poll.UntilAsync(async () => await s.LedgerEntriesAsync(d.Id) == 1, $"post {i + 1} to be credited", TimeSpan.FromSeconds(2));
            }
            catch (TimeoutException)
            {
                late.Add($"post {i + 1} ({d.MerchantTradeNo}) not credited after {clock.Elapsed.TotalSeconds:0.0} s");
            }
        }

        Assert.True(late.Count == 0, string.Join('\n', late) + "\nrunner log:\n" + runner.Tail());
        Assert.Equal(0, await s.DeadLetteredAsync());
        Assert.DoesNotContain(runner.Lines, l => l.Contains("\"poll-error\"", StringComparison.Ordinal));
        await s.Db.AssertLedgerInvariantAsync();
    }

    /// <summary>How many genuine posts the exactly-once run sends (ECPAY_EVENTS_RUNNER_POSTS; default 2,000).</summary>
    private static int RunnerPosts =>
        int.TryParse(Environment.GetEnvironmentVariable("ECPAY_EVENTS_RUNNER_POSTS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 2000;

    [Fact]
    public async Task ThousandsOfPostsAreEachCreditedExactlyOnceAndNoneIsDeadLettered()
    {
        await using var s = await SettlementStack.StartAsync("many", maxReceiveCount: 5, visibilityTimeoutSeconds: 30, startRunner: false);
        var runner = await s.StartRunnerProcessAsync(); // the command's defaults
        var deposits = await s.SeedDepositsAsync(RunnerPosts, users: 100);

        await Parallel.ForEachAsync(deposits, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (d, _) =>
            await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, d.Amount, tradeNo: "26" + d.Id.ToString("D14", CultureInfo.InvariantCulture))));

        await Poll.UntilAsync(async () => await s.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries") >= deposits.Count, $"{deposits.Count} credits", TimeSpan.FromSeconds(120));
        await s.WaitForQueueDrainedAsync(60);

        var notCreditedOnce = await s.Db.ScalarAsync<long>("""
            SELECT COUNT(*) FROM transactions t
            WHERE t.type = 'deposit' AND (t.status <> 'completed' OR (SELECT COUNT(*) FROM ledger_entries l WHERE l.transaction_id = t.id) <> 1)
            """);
        Assert.True(notCreditedOnce == 0, $"{notCreditedOnce} of {deposits.Count} deposits not credited exactly once\nrunner log:\n{runner.Tail()}");
        Assert.Equal(deposits.Count, await s.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries"));
        Assert.Equal(0, await s.DeadLetteredAsync());
        await s.Db.AssertLedgerInvariantAsync();
    }
}
