using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>The local server's own behaviour: start-up checks and --data persistence.</summary>
public sealed class LocalServerTests
{
    [Fact]
    public async Task RefusesToStartWhenATaskHasNoLambdaUrl()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalStepFunctionsServer.StartAsync([]));
        Assert.Contains("no --lambda URL for Resource ${ReconcileFunctionArn}", e.Message);
    }

    [Fact]
    public async Task AStatusOutsideTheErrorStatusCodesIsTheTaskOutputAsBehindLambdaWebAdapter()
    {
        // As with AWS_LWA_ERROR_STATUS_CODES=500-599 on AWS: a 400 is a successful invocation whose output is the body,
        // which the state machine does not understand (why template.yaml sets 400-599 for the Timeouts function).
        using var timeouts = new FakeTimeoutsService();
        timeouts.Start();
        using var http = new HttpClient();
        var tradeNo = $"CODES{Guid.NewGuid():N}"[..20];
        timeouts.Answer(tradeNo, (_, _) => (400, """{"errorType":"Reconcile.InvalidInput","errorMessage":"expected {transactionId, merchantTradeNo, expiresAt}"}"""));
        await using var server = await LocalStepFunctionsServer.StartAsync(new Uri(timeouts.Url), "--lambda-error-status-codes", "500-599");
        var client = LocalStepFunctions.CreateClient(http, server.Endpoint);

        var arn = (await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(1, tradeNo, DateTimeOffset.UtcNow.AddMilliseconds(200)).ToJson())).ExecutionArn;
        var done = await WaitUntilClosedAsync(client, arn);

        Assert.Equal(ExecutionStatus.Failed, done.Status);
        Assert.Equal("Reconcile.UnexpectedOutcome", done.Error);
        Assert.Contains("Reconcile.InvalidInput", done.Cause);
        Assert.Single(timeouts.CallsFor(tradeNo));
        var history = await client.GetFullExecutionHistoryAsync(arn);
        Assert.Contains("Reconcile.InvalidInput", history.Single(e => e.Type == "LambdaFunctionSucceeded").LambdaFunctionSucceededEventDetails!.Output);
        Assert.Contains("lambda error status codes (AWS_LWA_ERROR_STATUS_CODES): 500-599", server.Output);
    }

    [Fact]
    public async Task TheDefaultErrorStatusCodesAreTheTemplatesForTheTimeoutsFunction()
    {
        using var timeouts = new FakeTimeoutsService();
        timeouts.Start();
        await using var server = await LocalStepFunctionsServer.StartAsync(new Uri(timeouts.Url));
        var template = File.ReadAllText(Path.Combine(RepoPaths.Root, "template.yaml"));
        var timeoutsFunction = template[template.IndexOf("  TimeoutsFunction:", StringComparison.Ordinal)..];
        Assert.Contains("AWS_LWA_ERROR_STATUS_CODES: '400-599'", timeoutsFunction[..timeoutsFunction.IndexOf("Policies:", StringComparison.Ordinal)]);
        for (var i = 0; i < 50 && !server.Output.Contains("lambda error status codes", StringComparison.Ordinal); i++) await Task.Delay(20); // logged right after "listening"
        Assert.Contains("lambda error status codes (AWS_LWA_ERROR_STATUS_CODES): 400-599", server.Output);
    }

    private static async Task<DescribeExecutionResponse> WaitUntilClosedAsync(StepFunctionsClient client, string arn)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (true)
        {
            var execution = await client.DescribeExecutionAsync(arn);
            if (execution.Status != ExecutionStatus.Running || DateTimeOffset.UtcNow > deadline) return execution;
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task KeepsExecutionsAcrossARestartWithData()
    {
        using var timeouts = new FakeTimeoutsService();
        timeouts.Start();
        var data = Path.Combine(Path.GetTempPath(), $"sfn-{Guid.NewGuid():N}.json");
        var reconcileUrl = new Uri(timeouts.Url);
        using var http = new HttpClient();
        var tradeNo = $"KEEP{Guid.NewGuid():N}"[..20];
        timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" }));
        try
        {
            string arn;
            await using (var first = await LocalStepFunctionsServer.StartAsync(reconcileUrl, "--data", data))
            {
                var client = LocalStepFunctions.CreateClient(http, first.Endpoint);
                // Expires after the restart: the restarted server must run it to the end.
                arn = (await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(1, tradeNo, DateTimeOffset.UtcNow.AddSeconds(2)).ToJson())).ExecutionArn;
                await Task.Delay(400); // the data file is written shortly after each change
            }

            await using (var second = await LocalStepFunctionsServer.StartAsync(reconcileUrl, "--data", data))
            {
                var client = LocalStepFunctions.CreateClient(http, second.Endpoint);
                DescribeExecutionResponse done;
                do
                {
                    await Task.Delay(100);
                    done = await client.DescribeExecutionAsync(arn);
                } while (done.Status == ExecutionStatus.Running);

                Assert.Equal(ExecutionStatus.Succeeded, done.Status);
                Assert.Single(timeouts.CallsFor(tradeNo));
                var again = await client.StartOrFindExecutionAsync(tradeNo, done.Input!);
                Assert.True(again.AlreadyScheduled);
                var history = await client.GetFullExecutionHistoryAsync(arn);
                Assert.Single(history, e => e.Type == "ExecutionStarted");
                // The first run's events, a marker, then the replay from the start: not one run entering WaitUntilExpiry twice.
                var types = history.Select(e => e.Type).ToList();
                var marker = types.IndexOf("ExecutionRedriven");
                Assert.True(marker > 0, string.Join(", ", types));
                Assert.Single(types, t => t == "ExecutionRedriven");
                Assert.Equal(["WaitStateEntered"], types[1..marker]);
                Assert.Equal("WaitStateEntered", types[marker + 1]);
                Assert.Equal("ExecutionSucceeded", types[^1]);
                Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e.Id));
            }
        }
        finally
        {
            File.Delete(data);
        }
    }
}
