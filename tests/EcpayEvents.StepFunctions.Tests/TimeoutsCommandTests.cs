using System.Text.Json;
using EcpayEvents.Cli.Commands;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>
/// `ecpay-events timeouts audit|rearm` against MariaDB (a fresh database per test) and the local Step
/// Functions server running the real state machine (Reconcile answered by the fake Timeouts service).
/// </summary>
public sealed class TimeoutsCommandTests(LocalStepFunctions stack) : IAsyncLifetime
{
    private readonly StepFunctionsClient client = stack.CreateClient();
    private TestDatabase db = null!;
    private long userId;

    public async ValueTask InitializeAsync()
    {
        db = await TestDatabase.CreateAsync("timeoutscli");
        userId = await db.ScalarAsync<long>("INSERT INTO users (username, email, balance) VALUES ('cli', 'cli@example.com', 0); SELECT LAST_INSERT_ID();");
    }

    public async ValueTask DisposeAsync()
    {
        await db.AssertLedgerInvariantAsync();
        await db.DisposeAsync();
    }

    private static string NewTradeNo(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20].ToUpperInvariant();

    /// <summary>A deposit of 100 TWD; a completed one is credited, as Settlement would (the ledger invariant holds).</summary>
    private async Task<long> DepositAsync(string merchantTradeNo, DateTimeOffset expiresAt, string status = "pending")
    {
        var id = await db.ScalarAsync<long>("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, item_name, expires_at)
            VALUES (@u, 'deposit', 100, @s, @m, 'Credit', 'Deposit', @e); SELECT LAST_INSERT_ID();
            """, ("@u", userId), ("@s", status), ("@m", merchantTradeNo), ("@e", expiresAt.UtcDateTime));
        if (status == "completed")
            await db.ExecuteAsync("""
                INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @t, 100);
                UPDATE users SET balance = balance + 100 WHERE id = @u;
                """, ("@u", userId), ("@t", id));
        return id;
    }

    private async Task<string> StartAsync(string name, long transactionId, string merchantTradeNo, DateTimeOffset expiresAt) =>
        (await client.StartExecutionAsync(new StartExecutionRequest(LocalStepFunctionsServer.PaymentTimeoutArn, name,
            new PaymentTimeoutInput(transactionId, merchantTradeNo, expiresAt).ToJson()))).ExecutionArn;

    private static string Arn(string name) => StepFunctionsClient.ExecutionArnOf(LocalStepFunctionsServer.PaymentTimeoutArn, name);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string?>
        {
            ["STEPFUNCTIONS_ENDPOINT"] = stack.Endpoint.ToString(),
            ["DATABASE_CONNECTION_STRING"] = db.ConnectionString,
        };
        var exitCode = await TimeoutsCommand.RunAsync(args, stdout, stderr, name => env.GetValueOrDefault(name), stack.Http);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A payment whose execution ended in NeedsReview (an answer the state machine does not know).</summary>
    private async Task<(long Id, string TradeNo)> NeedsReviewAsync(DateTimeOffset expiresAt)
    {
        var tradeNo = NewTradeNo("REVIEW");
        var id = await DepositAsync(tradeNo, expiresAt);
        stack.Timeouts.Answer(tradeNo, (attempt, _) => attempt == 1 ? FakeTimeoutsService.Json(new { outcome = "bogus" }) : (500, "{\"errorType\":\"Test.Unscripted\",\"errorMessage\":\"no\"}"));
        var arn = await StartAsync(tradeNo, id, tradeNo, DateTimeOffset.UtcNow.AddMilliseconds(100));
        Assert.Equal(ExecutionStatus.Failed, (await stack.WaitUntilClosedAsync(arn)).Status);
        return (id, tradeNo);
    }

    [Fact]
    public async Task AuditListsPendingDepositsWithoutARunningTimeout()
    {
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var healthy = NewTradeNo("HEALTHY");
        var healthyArn = await StartAsync(healthy, await DepositAsync(healthy, later), healthy, later);
        var review = await NeedsReviewAsync(later);
        var never = NewTradeNo("NEVER");
        await DepositAsync(never, later);
        var stopped = NewTradeNo("STOPPED");
        var stoppedArn = await StartAsync(stopped, await DepositAsync(stopped, later), stopped, later);
        await client.StopExecutionAsync(stoppedArn, "Operator.Stopped", "test");
        await DepositAsync(NewTradeNo("DONE"), later, status: "completed");

        var (exitCode, stdout, stderr) = await RunAsync("audit");

        Assert.Equal(1, exitCode);
        Assert.Equal("", stderr);
        var lines = stdout.Split('\n');
        Assert.StartsWith("MERCHANT TRADE NO", lines[0]);
        Assert.Contains(lines, l => l.StartsWith(review.TradeNo, StringComparison.Ordinal) && l.Contains("FAILED: Reconcile.UnexpectedOutcome"));
        Assert.Contains(lines, l => l.StartsWith(never, StringComparison.Ordinal) && l.Contains("missing (never started)"));
        Assert.Contains(lines, l => l.StartsWith(stopped, StringComparison.Ordinal) && l.Contains(ExecutionStatus.Aborted));
        Assert.DoesNotContain(healthy, stdout);
        Assert.DoesNotContain("DONE", stdout);
        Assert.Contains("3 of 4 pending deposit(s) have no running timeout", stdout);
        await client.StopExecutionAsync(healthyArn, "Test.Done", "cleanup");
    }

    [Fact]
    public async Task AuditIsExitCode0WhenEveryPendingDepositHasARunningTimeout()
    {
        Assert.Equal((0, "no pending deposits\n", ""), Normalize(await RunAsync("audit")));

        var later = DateTimeOffset.UtcNow.AddHours(1);
        var tradeNo = NewTradeNo("FINE");
        var arn = await StartAsync(tradeNo, await DepositAsync(tradeNo, later), tradeNo, later);
        Assert.Equal((0, "every pending deposit has a running timeout (1 checked)\n", ""), Normalize(await RunAsync("audit")));
        await client.StopExecutionAsync(arn, "Test.Done", "cleanup");
    }

    [Fact]
    public async Task RearmStartsASuffixedExecutionThatReconcilesTheSamePayment()
    {
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var (id, tradeNo) = await NeedsReviewAsync(later);

        var first = await RunAsync("rearm", tradeNo);

        Assert.Equal(0, first.ExitCode);
        Assert.Contains($"{tradeNo}: rearmed as {tradeNo}-r1 (transaction {id}), waiting until {later.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC", first.Stdout);
        var rearmed = await client.DescribeExecutionAsync(Arn($"{tradeNo}-r1"));
        Assert.Equal(ExecutionStatus.Running, rearmed.Status);
        var input = JsonSerializer.Deserialize(rearmed.Input!, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput)!;
        Assert.Equal(new PaymentTimeoutInput(id, tradeNo, input.ExpiresAt), input);
        Assert.Equal(later.ToUnixTimeMilliseconds(), input.ExpiresAt.ToUnixTimeMilliseconds(), tolerance: 1);

        // Running: a second rearm does nothing.
        var again = await RunAsync("rearm", tradeNo);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains($"{tradeNo}: already has a running timeout, {tradeNo}-r1", again.Stdout);
        await Assert.ThrowsAsync<StepFunctionsException>(() => client.DescribeExecutionAsync(Arn($"{tradeNo}-r2")));
        Assert.Equal(0, (await RunAsync("audit")).ExitCode);

        // Stopped by an operator: the next one is -r2.
        await client.StopExecutionAsync(rearmed.ExecutionArn, "Operator.Stopped", "test");
        Assert.Contains($"{tradeNo}-r1", (await RunAsync("audit")).Stdout);
        var third = await RunAsync("rearm", tradeNo);
        Assert.Contains($"rearmed as {tradeNo}-r2", third.Stdout);
        await client.StopExecutionAsync(Arn($"{tradeNo}-r2"), "Test.Done", "cleanup");
    }

    [Fact]
    public async Task ARearmedPaymentPastItsExpiryIsReconciledAtOnceWithItsOwnTransactionAndTradeNo()
    {
        var (id, tradeNo) = await NeedsReviewAsync(DateTimeOffset.UtcNow.AddMinutes(-5));
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" }));
        var before = DateTimeOffset.UtcNow;

        var (exitCode, stdout, _) = await RunAsync("rearm", tradeNo);

        Assert.Equal(0, exitCode);
        Assert.Contains($"rearmed as {tradeNo}-r1", stdout);
        var done = await stack.WaitUntilClosedAsync(Arn($"{tradeNo}-r1"));
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        var input = JsonSerializer.Deserialize(done.Input!, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput)!;
        Assert.InRange(input.ExpiresAt, before.AddSeconds(-1), DateTimeOffset.UtcNow); // now, not the past expiry
        // What Reconcile received: the payment, whatever the execution is called.
        using var sent = JsonDocument.Parse(stack.Timeouts.CallsFor(tradeNo)[^1].Body);
        Assert.Equal(id, sent.RootElement.GetProperty("transactionId").GetInt64());
        Assert.Equal(tradeNo, sent.RootElement.GetProperty("merchantTradeNo").GetString());
    }

    [Fact]
    public async Task RearmAllOrphanedArmsEachAndKeepsTheNameOfOneThatNeverHadATimer()
    {
        var later = DateTimeOffset.UtcNow.AddHours(1);
        var review = await NeedsReviewAsync(later);
        var never = NewTradeNo("NEVER");
        var neverId = await DepositAsync(never, later);

        var (exitCode, stdout, stderr) = await RunAsync("rearm", "--all-orphaned");

        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr);
        Assert.Contains($"{review.TradeNo}: rearmed as {review.TradeNo}-r1", stdout);
        Assert.Contains($"{never}: rearmed as {never} (transaction {neverId})", stdout);
        Assert.Contains("rearmed 2 of 2 orphaned timeout(s) (2 pending deposit(s) checked)", stdout);
        Assert.Equal(0, (await RunAsync("audit")).ExitCode);
        Assert.Contains("rearmed 0 of 0", (await RunAsync("rearm", "--all-orphaned")).Stdout);
        await client.StopExecutionAsync(Arn($"{review.TradeNo}-r1"), "Test.Done", "cleanup");
        await client.StopExecutionAsync(Arn(never), "Test.Done", "cleanup");
    }

    [Fact]
    public async Task RearmRefusesWhatIsNotAPendingDeposit()
    {
        var unknown = await RunAsync("rearm", "NOSUCHDEPOSIT");
        Assert.Equal((1, "timeouts: no deposit with MerchantTradeNo NOSUCHDEPOSIT\n"), (unknown.ExitCode, unknown.Stderr.ReplaceLineEndings("\n")));

        var done = NewTradeNo("DONE");
        await DepositAsync(done, DateTimeOffset.UtcNow, status: "completed");
        var completed = await RunAsync("rearm", done);
        Assert.Equal(1, completed.ExitCode);
        Assert.Contains($"{done} is completed, not pending", completed.Stderr);
        await Assert.ThrowsAsync<StepFunctionsException>(() => client.DescribeExecutionAsync(Arn(done)));
    }

    [Theory]
    [InlineData]
    [InlineData("sometimes")]
    [InlineData("audit", "extra")]
    [InlineData("rearm")]
    [InlineData("rearm", "A", "B")]
    [InlineData("rearm", "A", "--all-orphaned")]
    [InlineData("rearm", "EE0-MWVO2")]
    [InlineData("rearm", "ABCDEFGHIJKLMNOPQRSTU")]
    [InlineData("audit", "--endpoint")]
    [InlineData("audit", "--endpoint", "not a url")]
    [InlineData("audit", "--state-machine-arn", "payment-timeout")]
    [InlineData("audit", "--connection-string", "Server=127.0.0.1;Bogus Option=1")]
    [InlineData("audit", "--frobnicate")]
    public async Task BadInputIsOneLineOnStderrAndExitCode2(params string[] args)
    {
        var (exitCode, stdout, stderr) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        if (args.Length > 0)
        {
            Assert.Equal("", stdout);
            Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
            Assert.StartsWith("timeouts: ", stderr);
        }
    }

    [Fact]
    public async Task WithoutADatabaseItIsExitCode2()
    {
        var stderr = new StringWriter();
        var exitCode = await TimeoutsCommand.RunAsync(["audit", "--endpoint", stack.Endpoint.ToString()], new StringWriter(), stderr, _ => null, stack.Http);
        Assert.Equal(2, exitCode);
        Assert.Contains("DATABASE_CONNECTION_STRING", stderr.ToString());
    }

    [Fact]
    public void RearmNamesStayWithinStepFunctionsRules()
    {
        Assert.Equal("EC123", PaymentTimers.ExecutionName("EC123", 0));
        Assert.Equal("EC123-r12", PaymentTimers.ExecutionName("EC123", 12));
        Assert.True(PaymentTimers.ExecutionName(new string('A', 20), int.MaxValue).Length <= PaymentTimers.MaxExecutionNameLength);
        Assert.Throws<ArgumentException>(() => PaymentTimers.ExecutionName("EC 1", 1));
        Assert.Throws<ArgumentException>(() => PaymentTimers.ExecutionName(new string('A', 79), 1));
        Assert.Equal("EC123", PaymentTimers.MerchantTradeNoOf("EC123-r12"));
        Assert.Equal("EC123", PaymentTimers.MerchantTradeNoOf("EC123"));
    }

    private static (int, string, string) Normalize((int ExitCode, string Stdout, string Stderr) r) =>
        (r.ExitCode, r.Stdout.ReplaceLineEndings("\n"), r.Stderr.ReplaceLineEndings("\n"));
}
