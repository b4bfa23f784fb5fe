using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>The real payment-timeout.asl.json on the local server, driven through the client.</summary>
public sealed class PaymentTimeoutExecutionTests(LocalStepFunctions stack)
{
    private readonly StepFunctionsClient client = stack.CreateClient();

    private static string NewTradeNo(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

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
        // The task gets exactly the payment's identity and expiry.
        using var sent = JsonDocument.Parse(call.Body);
        Assert.Equal(["transactionId", "merchantTradeNo", "expiresAt"], sent.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(42, sent.RootElement.GetProperty("transactionId").GetInt64());
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
            if (attempt > 1) return FakeTimeoutsService.Json(new { outcome = "paid" });
            extendedTo = DateTimeOffset.UtcNow.AddSeconds(1.5);
            return (200, JsonSerializer.Serialize(new ReconcileAnswer(ReconcileOutcome.Extend, extendedTo), PaymentTimeoutJsonContext.Default.ReconcileAnswer));
        });

        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromSeconds(1)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        var calls = stack.Timeouts.CallsFor(tradeNo);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].At >= extendedTo.AddMilliseconds(-50), $"second Reconcile at {calls[1].At:O}, before the extended expiry {extendedTo:O}");
        using var second = JsonDocument.Parse(calls[1].Body);
        Assert.Equal(extendedTo.ToUnixTimeMilliseconds(), second.RootElement.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(42, second.RootElement.GetProperty("transactionId").GetInt64());

        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal(2, history.Count(e => e.Type == "WaitStateEntered"));
        Assert.Equal("Paid", history.Last(e => e.Type == "SucceedStateEntered").StateName);
    }

    [Fact]
    public async Task ReconcileThatKeepsFailingIsRetriedThenTheExecutionFailsInNeedsReview()
    {
        var tradeNo = NewTradeNo("DOWN");
        stack.Timeouts.Answer(tradeNo, (_, _) => (503, "ECPay QueryTradeInfo unreachable"));

        var started = DateTimeOffset.UtcNow;
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromSeconds(1)).ToJson());
        var done = await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal("Lambda.ServiceException", done.Error);
        Assert.Contains("ECPay QueryTradeInfo unreachable", done.Cause);
        Assert.Equal(4, stack.Timeouts.CallsFor(tradeNo).Count); // the first try and MaxAttempts = 3 retries
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(20));

        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal(4, history.Count(e => e.Type == "LambdaFunctionFailed"));
        Assert.Equal("NeedsReview", history.Single(e => e.Type == "FailStateEntered").StateName);
        var failed = history[^1];
        Assert.Equal("ExecutionFailed", failed.Type);
        Assert.Equal("Lambda.ServiceException", failed.ExecutionFailedEventDetails!.Error);
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
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" }));
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, InputExpiringIn(tradeNo, TimeSpan.FromSeconds(2)).ToJson());

        await client.StopExecutionAsync(scheduled.ExecutionArn, "Operator", "refund handled by hand");
        var stopped = await client.DescribeExecutionAsync(scheduled.ExecutionArn);
        await Task.Delay(2500);

        Assert.Equal(ExecutionStatus.Aborted, stopped.Status);
        Assert.Equal("Operator", stopped.Error);
        Assert.Empty(stack.Timeouts.CallsFor(tradeNo));
        Assert.Equal(ExecutionStatus.Aborted, (await client.DescribeExecutionAsync(scheduled.ExecutionArn)).Status);
        var history = await client.GetFullExecutionHistoryAsync(scheduled.ExecutionArn);
        Assert.Equal("ExecutionAborted", history[^1].Type);
    }
}
