using EcpayEvents.Cli.Commands;
using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.StepFunctions.Tests;

public sealed class ExecutionsCommandTests(LocalStepFunctions stack)
{
    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string?> { ["STEPFUNCTIONS_ENDPOINT"] = stack.Endpoint.ToString() };
        var exitCode = await ExecutionsCommand.RunAsync(args, stdout, stderr, name => env.GetValueOrDefault(name), stack.Http);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task OperatorsCanListDescribeAndReadTheTimelineOfAFailedPayment()
    {
        var tradeNo = $"CLI{Guid.NewGuid():N}"[..20];
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "bogus" }));
        var client = stack.CreateClient();
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(9, tradeNo, DateTimeOffset.UtcNow.AddMilliseconds(300)).ToJson());
        await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        var list = await RunAsync("list", "--status", "failed");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("NAME", list.Stdout);
        Assert.Contains(list.Stdout.Split('\n'), line => line.StartsWith(tradeNo, StringComparison.Ordinal) && line.Contains("FAILED"));

        var describe = await RunAsync("describe", tradeNo);
        Assert.Equal(0, describe.ExitCode);
        Assert.Contains("status:     FAILED", describe.Stdout);
        Assert.Contains("error:      Reconcile.UnexpectedOutcome", describe.Stdout);
        Assert.Contains("\"merchantTradeNo\": \"" + tradeNo + "\"", describe.Stdout);

        var history = await RunAsync("history", scheduled.ExecutionArn);
        Assert.Equal(0, history.ExitCode);
        var lines = history.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Contains("WaitStateEntered") && l.Contains("WaitUntilExpiry") && l.Contains("until "));
        Assert.Contains(lines, l => l.Contains("LambdaFunctionSucceeded") && l.Contains("Reconcile") && l.Contains("bogus"));
        Assert.Contains(lines, l => l.Contains("FailStateEntered") && l.Contains("NeedsReview"));
        Assert.Contains(lines, l => l.Contains("ExecutionFailed") && l.Contains("Reconcile.UnexpectedOutcome"));
    }

    [Fact]
    public async Task AnUnknownExecutionIsExitCode1WithTheAwsErrorCode()
    {
        var (exitCode, _, stderr) = await RunAsync("describe", "NOSUCHPAYMENT");
        Assert.Equal(1, exitCode);
        Assert.Contains("ExecutionDoesNotExist", stderr);
    }

    [Fact]
    public async Task BadUsageIsExitCode2()
    {
        Assert.Equal(2, (await RunAsync()).ExitCode);
        Assert.Equal(2, (await RunAsync("list", "--status", "SOMETIMES")).ExitCode);
        Assert.Equal(2, (await RunAsync("describe")).ExitCode);
        Assert.Equal(0, (await RunAsync("--help")).ExitCode);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var noStateMachine = await ExecutionsCommand.RunAsync(["list"], stdout, stderr, _ => null, stack.Http);
        Assert.Equal(2, noStateMachine);
        Assert.Contains("STATE_MACHINE_ARN", stderr.ToString());
    }
}
