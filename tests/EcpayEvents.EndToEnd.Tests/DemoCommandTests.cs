using EcpayEvents.Cli.Commands;

namespace EcpayEvents.EndToEnd.Tests;

public sealed class DemoCommandTests
{
    [Fact]
    public async Task TheDemoDrivesACardPaymentThroughTheRealChainAndExitsZero()
    {
        await using var stack = await LocalStack.StartAsync();
        var output = new StringWriter();
        var original = Console.Out;
        int exit;
        Console.SetOut(output);
        try
        {
            exit = await DemoCommand.RunAsync(["--api", stack.PaymentsApi.ToString().TrimEnd('/'), "--sandbox", stack.Sandbox.ToString().TrimEnd('/'), "--amount", "250", "--timeout", "45"]);
        }
        finally
        {
            Console.SetOut(original);
        }
        var text = output.ToString();
        Console.WriteLine(text);
        Assert.True(exit == 0, text);
        Assert.Contains("notified: ReturnURL answered 1|OK", text);
        Assert.Contains("settled:", text);
        Assert.Contains("(+250)", text);
        await stack.Db.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task TheDemoFailsClearlyWhenNothingIsRunning()
    {
        var port = EcpayEvents.Testing.FreePort.Next();
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int exit;
        try
        {
            exit = await DemoCommand.RunAsync(["--api", $"http://127.0.0.1:{port}", "--sandbox", $"http://127.0.0.1:{port}", "--timeout", "2"]);
        }
        finally
        {
            Console.SetError(original);
        }
        Assert.Equal(1, exit);
        Assert.Contains("PaymentsApi is not reachable", error.ToString());
    }
}
