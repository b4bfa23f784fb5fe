using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;
using EcpayEvents.Payments.Timeouts;

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
        Assert.Contains("lambda error status codes (AWS_LWA_ERROR_STATUS_CODES): 500-599", await OutputOnceLoggedAsync(server, "lambda error status codes"));
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
        Assert.Contains("lambda error status codes (AWS_LWA_ERROR_STATUS_CODES): 400-599", await OutputOnceLoggedAsync(server, "lambda error status codes"));
    }

    /// <summary>The server's output once it has logged <paramref name="line"/> (right after "listening"; at most 30 s).</summary>
    private static Task<string> OutputOnceLoggedAsync(LocalStepFunctionsServer server, string line) =>
        Poll.UntilAsync(() => Task.FromResult(server.Output), output => output.Contains(line, StringComparison.Ordinal), $"the server to log '{line}'",
            describe: output => output);

    private static Task<DescribeExecutionResponse> WaitUntilClosedAsync(StepFunctionsClient client, string arn) =>
        Poll.UntilAsync(() => client.DescribeExecutionAsync(arn), e => e.Status != ExecutionStatus.Running, $"{arn} to end");

    /// <summary>True once the server's --data file holds the execution <paramref name="name"/>, running and in its wait.</summary>
    private static bool Persisted(string data, string name)
    {
        try
        {
            using var saved = System.Text.Json.JsonDocument.Parse(File.ReadAllText(data));
            return saved.RootElement.GetProperty("executions").EnumerateArray().Any(e =>
                e.GetProperty("name").GetString() == name && e.GetProperty("status").GetString() == "RUNNING"
                && e.GetProperty("events").EnumerateArray().Any(ev => ev.GetProperty("type").GetString() == "WaitStateEntered"));
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false; // not written yet
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
                arn = (await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(1, tradeNo, DateTimeOffset.UtcNow.AddSeconds(8)).ToJson())).ExecutionArn;
                // The data file is written shortly (200 ms) after each change: wait until it holds the waiting execution.
                await Poll.UntilAsync(() => Persisted(data, tradeNo), $"{data} to hold the waiting execution {tradeNo}");
                Assert.Empty(timeouts.CallsFor(tradeNo)); // still waiting when the first server goes away
            }

            await using (var second = await LocalStepFunctionsServer.StartAsync(reconcileUrl, "--data", data))
            {
                var client = LocalStepFunctions.CreateClient(http, second.Endpoint);
                var done = await WaitUntilClosedAsync(client, arn);

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
