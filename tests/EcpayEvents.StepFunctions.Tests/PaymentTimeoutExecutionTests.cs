using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>The real payment-timeout.asl.json on the local server, driven through the client.</summary>
public sealed class PaymentTimeoutExecutionTests(LocalStepFunctions stack)
{
    private readonly StepFunctionsClient client = stack.CreateClient();

    private static string NewTradeNo(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    private static List<string> StatesEntered(IEnumerable<HistoryEvent> history) =>
        history.Where(e => e.Type.EndsWith("StateEntered", StringComparison.Ordinal)).Select(e => e.StateName!).ToList();

    private static PaymentTimeoutInput InputExpiringIn(string tradeNo, TimeSpan delay) =>
        new(TransactionId: 42, tradeNo, DateTimeOffset.UtcNow + delay);

    [Fact]
    public async Task AlreadySettledPaymentSucceedsAfterOneReconcileAtExpiry()
    {
        var tradeNo = NewTradeNo("SETL");
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "settled" }));
        var input = InputExpiringIn(tradeNo, TimeSpan.FromSeconds(1));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, input.ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.False(scheduled.AlreadyScheduled);
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        var call = Assert.Single(stack.Timeouts.CallsFor(tradeNo));
        Assert.True(call.At >= input.ExpiresAt.AddMilliseconds(-50), $"Reconcile ran at {call.At:O}, before expiry {input.ExpiresAt:O}");
        // The task gets exactly the payment's identity and expiry, and the execution's name for its logs.
        using var sent = JsonDocument.Parse(call.Body);
        Assert.Equal(["transactionId", "merchantTradeNo", "expiresAt", "executionName", "confirmCredit"], sent.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(42, sent.RootElement.GetProperty("transactionId").GetInt64());
        Assert.Equal(tradeNo, sent.RootElement.GetProperty("executionName").GetString());
        using var output = JsonDocument.Parse(done.Output!);
        Assert.Equal(tradeNo, output.RootElement.GetProperty("merchantTradeNo").GetString());
        Assert.Equal("settled", output.RootElement.GetProperty("reconcile").GetProperty("outcome").GetString());

        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal("Settled", history.Last(e => e.Type == "SucceedStateEntered").StateName);
    }

    [Fact]
    public async Task ExtendedPaymentWaitsAgainUntilTheNewExpiryThenEndsPaid()
    {
        var tradeNo = NewTradeNo("EXTD");
        var extendedTo = DateTimeOffset.MinValue;
        stack.Timeouts.Answer(tradeNo, (attempt, _) =>
        {
            if (attempt == 2) return FakeTimeoutsService.Json(new { outcome = "paid" });
            if (attempt > 2) return FakeTimeoutsService.Json(new { outcome = "settled" }); // Settlement applied the query's result
            extendedTo = DateTimeOffset.UtcNow.AddSeconds(1.5);
            return (200, JsonSerializer.Serialize(ReconcileAnswer.ExtendTo(new PaymentTimeoutInput(42, tradeNo, DateTimeOffset.UtcNow), extendedTo), PaymentTimeoutJsonContext.Default.ReconcileAnswer));
        });

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromSeconds(1)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        var calls = stack.Timeouts.CallsFor(tradeNo);
        Assert.Equal(3, calls.Count);
        Assert.True(calls[1].At >= extendedTo.AddMilliseconds(-50), $"second Reconcile at {calls[1].At:O}, before the extended expiry {extendedTo:O}");
        using var second = JsonDocument.Parse(calls[1].Body);
        Assert.Equal(extendedTo.ToUnixTimeMilliseconds(), second.RootElement.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(42, second.RootElement.GetProperty("transactionId").GetInt64());

        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal(
            ["WaitUntilExpiry", "Reconcile", "DecideOutcome", "WaitUntilExtendedExpiry", "Reconcile", "DecideOutcome",
             "FirstSettlementCheck", "WaitForSettlement", "Reconcile", "DecideOutcome", "Paid"],
            StatesEntered(history));
    }

    public static TheoryData<string, string> ExtensionsNotForThisPayment => new()
    {
        // An older Timeouts service (expiresAt, no next), another transaction, another order, an earlier expiry.
        { "no next", """{"outcome":"extend","expiresAt":"2099-01-01T00:00:00.000Z"}""" },
        { "another transaction", """{"outcome":"extend","expiresAt":"2099-01-01T00:00:00.000Z","next":{"transactionId":43,"merchantTradeNo":"{tradeNo}","expiresAt":"2099-01-01T00:00:00.000Z"}}""" },
        { "another order", """{"outcome":"extend","expiresAt":"2099-01-01T00:00:00.000Z","next":{"transactionId":42,"merchantTradeNo":"OTHER1","expiresAt":"2099-01-01T00:00:00.000Z"}}""" },
        { "not later", """{"outcome":"extend","expiresAt":"2000-01-01T00:00:00.000Z","next":{"transactionId":42,"merchantTradeNo":"{tradeNo}","expiresAt":"2000-01-01T00:00:00.000Z"}}""" },
    };

    [Theory]
    [MemberData(nameof(ExtensionsNotForThisPayment), DisableDiscoveryEnumeration = true)]
    public async Task AnExtensionThatIsNotThisPaymentsLaterExpiryIsReviewedNotWaitedFor(string what, string answer)
    {
        // The answer's next state becomes the execution's state: only the same payment with a later expiry is taken.
        var tradeNo = NewTradeNo("XTND");
        stack.Timeouts.Answer(tradeNo, (_, _) => (200, answer.Replace("{tradeNo}", tradeNo, StringComparison.Ordinal)));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.True(done.Error == "Reconcile.UnexpectedOutcome", $"{what}: {done.Error}");
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "UnexpectedOutcome", "NeedsReview"], StatesEntered(await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn)));
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task PaidIsCheckedAgainAfterAWaitAndEndsPaidOnceSettled()
    {
        var tradeNo = NewTradeNo("PAID");
        // ECPay says paid (the result is enqueued); Settlement applies it only after the second look.
        stack.Timeouts.Answer(tradeNo, (attempt, _) => FakeTimeoutsService.Json(new { outcome = attempt <= 2 ? "paid" : "settled" }));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        var calls = stack.Timeouts.CallsFor(tradeNo);
        Assert.Equal(3, calls.Count);
        // WaitForSettlement sits between the checks (500 ms in the tests, 120 s on AWS).
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromMilliseconds(450), $"second check {(calls[1].At - calls[0].At).TotalMilliseconds} ms after the first");
        using (var second = JsonDocument.Parse(calls[1].Body))
            Assert.Equal(["transactionId", "merchantTradeNo", "expiresAt", "executionName", "confirmCredit"], second.RootElement.EnumerateObject().Select(p => p.Name));
        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal(
            ["WaitUntilExpiry", "Reconcile", "DecideOutcome", "FirstSettlementCheck", "WaitForSettlement",
             "Reconcile", "DecideOutcome", "NextSettlementCheck", "WaitForSettlement",
             "Reconcile", "DecideOutcome", "Paid"],
            StatesEntered(history));
        using var output = JsonDocument.Parse(done.Output!);
        Assert.Equal(2, output.RootElement.GetProperty("settlement").GetProperty("checks").GetInt32());
    }

    [Fact]
    public async Task PaidButNeverSettledEndsInNeedsReviewAfterFiveChecks()
    {
        var tradeNo = NewTradeNo("NOSETL");
        // ECPay keeps saying paid; Settlement rejects or ignores the message, so the transaction stays pending.
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "paid" }));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal("Reconcile.PaidButNotSettled", done.Error);
        Assert.Contains(tradeNo, done.Cause);
        Assert.Contains("after 5 checks", done.Cause);
        Assert.Equal(6, stack.Timeouts.CallsFor(tradeNo).Count); // the first Reconcile and five checks
        var states = StatesEntered(await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn));
        Assert.Equal(5, states.Count(s => s == "WaitForSettlement"));
        Assert.Equal(["PaidButNotSettled", "NeedsReview"], states[^2..]);
    }

    [Fact]
    public async Task AbandonedEndsInNoSuchPayment()
    {
        var tradeNo = NewTradeNo("GONE");
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = ReconcileOutcome.Abandoned }));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Assert.Equal(["WaitUntilExpiry", "Reconcile", "DecideOutcome", "NoSuchPayment"], StatesEntered(await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn)));
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task ReconcileThatKeepsFailingIsRetriedThenTheExecutionFailsInNeedsReviewWithTheLambdaErrorAsCause()
    {
        var tradeNo = NewTradeNo("DOWN");
        stack.Timeouts.Answer(tradeNo, (_, _) => (503, """{"errorType":"Reconcile.EcpayUnavailable","errorMessage":"QueryTradeInfo: timed out: 5 s"}"""));

        var started = DateTimeOffset.UtcNow;
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromSeconds(1)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        // As on AWS behind Lambda Web Adapter 1.0.0: the error is the adapter's, ours is inside the cause.
        Assert.Equal(LocalStepFunctionsServer.LambdaWebAdapterErrorType, done.Error);
        Assert.Contains("Reconcile.EcpayUnavailable", done.Cause);
        using (var cause = JsonDocument.Parse(done.Cause!))
        {
            Assert.Equal(LocalStepFunctionsServer.LambdaWebAdapterErrorType, cause.RootElement.GetProperty("errorType").GetString());
            using var adapter = JsonDocument.Parse(cause.RootElement.GetProperty("errorMessage").GetString()!);
            Assert.Equal(503, adapter.RootElement.GetProperty("statusCode").GetInt32());
            Assert.Equal("""{"errorType":"Reconcile.EcpayUnavailable","errorMessage":"QueryTradeInfo: timed out: 5 s"}""", adapter.RootElement.GetProperty("body").GetString());
        }
        Assert.Equal(new TaskFailure("Reconcile.EcpayUnavailable", "QueryTradeInfo: timed out: 5 s", 503), TaskFailure.Unwrap(done.Error, done.Cause));
        Assert.Equal(11, stack.Timeouts.CallsFor(tradeNo).Count); // the first try and MaxAttempts = 10 retries (100 ms apart here)
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(20));

        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        var failures = history.Where(e => e.Type == "LambdaFunctionFailed").ToList();
        Assert.Equal(11, failures.Count);
        Assert.All(failures, f => Assert.Equal("Reconcile.EcpayUnavailable", TaskFailure.Unwrap(f.Failure!.Error, f.Failure.Cause).ErrorType));
        Assert.Equal("NeedsReview", history.Single(e => e.Type == "FailStateEntered").StateName);
        var failed = history[^1];
        Assert.Equal("ExecutionFailed", failed.Type);
        Assert.Equal(LocalStepFunctionsServer.LambdaWebAdapterErrorType, failed.ExecutionFailedEventDetails!.Error);
        Assert.Equal(done.Cause, failed.ExecutionFailedEventDetails.Cause);
    }

    [Fact]
    public async Task ABodyThatIsNotOursStillReachesTheCause()
    {
        var tradeNo = NewTradeNo("PLAIN");
        stack.Timeouts.Answer(tradeNo, (_, _) => (502, "Bad Gateway"));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal(new TaskFailure(LocalStepFunctionsServer.LambdaWebAdapterErrorType, "Bad Gateway", 502), TaskFailure.Unwrap(done.Error, done.Cause));
    }

    [Fact]
    public async Task ABadRequestFailsTheTaskLikeA5xx()
    {
        // 400 is in AWS_LWA_ERROR_STATUS_CODES (400-599, the server's default): an input the service rejects is retried, then reviewed.
        var tradeNo = NewTradeNo("BADIN");
        stack.Timeouts.Answer(tradeNo, (_, _) => (400, """{"errorType":"Reconcile.InvalidInput","errorMessage":"expected {transactionId, merchantTradeNo, expiresAt}"}"""));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal(11, stack.Timeouts.CallsFor(tradeNo).Count); // the first try and 10 retries
        var failure = TaskFailure.Unwrap(done.Error, done.Cause);
        Assert.Equal(("Reconcile.InvalidInput", 400), (failure.ErrorType, failure.StatusCode));
    }

    [Fact]
    public async Task AnAnswerTheStateMachineDoesNotKnowEndsInNeedsReview()
    {
        var tradeNo = NewTradeNo("ODD");
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "refunded" }));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(500)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal("Reconcile.UnexpectedOutcome", done.Error);
        Assert.Contains("refunded", done.Cause);
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task ASuccessfulAnswerThatIsNotJsonIsNullOutputAndEndsInNeedsReview()
    {
        // Lambda Web Adapter's pass-through answer: the body parsed as JSON, or null (status and headers dropped).
        var tradeNo = NewTradeNo("NOJSON");
        stack.Timeouts.Answer(tradeNo, (_, _) => (200, "OK"));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(300)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal(("Reconcile.UnexpectedOutcome", "null"), (done.Error, done.Cause));
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task AnExtensionThatIsNotLaterCannotLoopAndEndsInNeedsReview()
    {
        var tradeNo = NewTradeNo("STALE");
        stack.Timeouts.Answer(tradeNo, (_, input) => FakeTimeoutsService.Json(new { outcome = "extend", expiresAt = input.GetProperty("expiresAt").GetString() }));

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromMilliseconds(500)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal("Reconcile.UnexpectedOutcome", done.Error);
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task StopExecutionAbortsAWaitingExecutionWithoutReconciling()
    {
        var tradeNo = NewTradeNo("STOP");
        var yardstick = NewTradeNo("STOPY"); // not stopped: once it has reconciled, the stopped one would have too
        foreach (var no in new[] { tradeNo, yardstick })
            stack.Timeouts.Answer(no, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" }));
        var expiresIn = TimeSpan.FromSeconds(4);
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, expiresIn).ToJson());
        var measured = await client.StartOrFindExecutionAsync(yardstick, InputExpiringIn(yardstick, expiresIn).ToJson());

        await client.StopExecutionAsync(scheduled.ExecutionArn, "Operator", "refund handled by hand");
        var stopped = await client.DescribeExecutionAsync(scheduled.ExecutionArn);
        Assert.Equal(ExecutionStatus.Succeeded, (await stack.WaitUntilClosedAsync(measured.ExecutionArn)).Status);
        Assert.Single(stack.Timeouts.CallsFor(yardstick));

        Assert.Equal(ExecutionStatus.Aborted, stopped.Status);
        Assert.Equal("Operator", stopped.Error);
        Assert.Empty(stack.Timeouts.CallsFor(tradeNo));
        Assert.Equal(ExecutionStatus.Aborted, (await client.DescribeExecutionAsync(scheduled.ExecutionArn)).Status);
        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal("ExecutionAborted", history[^1].Type);
    }
}
