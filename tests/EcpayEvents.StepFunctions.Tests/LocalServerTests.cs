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
            }
        }
        finally
        {
            File.Delete(data);
        }
    }
}
