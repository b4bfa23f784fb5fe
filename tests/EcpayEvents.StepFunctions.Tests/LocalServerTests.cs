using System.Text;
using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>The local server's own behaviour: start-up checks and --data persistence.</summary>
public sealed class LocalServerTests
{
    [Fact]
    public async Task RefusesToStartWhenATaskHasNoLambdaUrl()
    {
        var log = new StringBuilder();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalStepFunctions.StartServerAsync([], log));
        Assert.Contains("no --lambda URL for Resource ${ReconcileFunctionArn}", e.Message);
    }

    [Fact]
    public async Task KeepsExecutionsAcrossARestartWithData()
    {
        using var timeouts = new FakeTimeoutsService();
        timeouts.Start();
        var data = Path.Combine(Path.GetTempPath(), $"sfn-{Guid.NewGuid():N}.json");
        string[] args = ["--lambda", $"ReconcileFunctionArn={timeouts.Url}", "--data", data];
        using var http = new HttpClient();
        var tradeNo = $"KEEP{Guid.NewGuid():N}"[..20];
        timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" }));
        try
        {
            var log = new StringBuilder();
            var first = await LocalStepFunctions.StartServerAsync(args, log);
            string arn;
            try
            {
                var client = ClientFor(http, LocalStepFunctions.ParseEndpoint(log.ToString()));
                // Expires after the restart: the restarted server must run it to the end.
                arn = (await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(1, tradeNo, DateTimeOffset.UtcNow.AddSeconds(2)).ToJson())).ExecutionArn;
                await Task.Delay(400); // the data file is written shortly after each change
            }
            finally
            {
                LocalStepFunctions.Stop(first);
                await first.WaitForExitAsync();
            }

            var log2 = new StringBuilder();
            var second = await LocalStepFunctions.StartServerAsync(args, log2);
            try
            {
                var client = ClientFor(http, LocalStepFunctions.ParseEndpoint(log2.ToString()));
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
            finally
            {
                LocalStepFunctions.Stop(second);
                await second.WaitForExitAsync();
            }
        }
        finally
        {
            File.Delete(data);
        }
    }

    private static StepFunctionsClient ClientFor(HttpClient http, Uri endpoint) => new(http, new StepFunctionsClientOptions
    {
        ServiceUrl = endpoint,
        Region = "us-east-1",
        StateMachineArn = LocalStepFunctions.StateMachineArn,
        Credentials = new Amazon.Runtime.BasicAWSCredentials("local", "local"),
    });
}
