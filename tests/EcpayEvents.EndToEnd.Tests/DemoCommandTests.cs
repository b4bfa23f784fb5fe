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
            exit = await DemoCommand.RunAsync(["--api", stack.PaymentsApi.ToString().TrimEnd('/'), "--sandbox", stack.Sandbox.ToString().TrimEnd('/'), "--amount", "250", "--timeout", "45", "--cognito", stack.Cognito.SettingsPath]);
        }
        finally
        {
            Console.SetOut(original);
        }
        var text = output.ToString();
        Console.WriteLine(text);
        Assert.True(exit == 0, text);
        Assert.Contains("signed in as demo-", text);
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

    [Fact]
    public async Task TheDemoSaysFailInOneLineWhenAServiceAcceptsButNeverAnswers()
    {
        // Accepts connections, never answers: the demo's HTTP timeout (15 s) fires as TaskCanceledException.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = new List<System.Net.Sockets.TcpClient>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            try { while (true) accepted.Add(await silent.AcceptTcpClientAsync(stop.Token)); }
            catch (OperationCanceledException) { }
        });
        var error = new StringWriter();
        var output = new StringWriter();
        var (originalError, originalOut) = (Console.Error, Console.Out);
        Console.SetError(error);
        Console.SetOut(output);
        int exit;
        try
        {
            exit = await DemoCommand.RunAsync(["--api", $"http://127.0.0.1:{port}", "--sandbox", $"http://127.0.0.1:{port}", "--timeout", "2"]);
        }
        finally
        {
            Console.SetError(originalError);
            Console.SetOut(originalOut);
            await stop.CancelAsync();
            await acceptLoop;
            accepted.ForEach(c => c.Dispose());
        }
        Assert.Equal(1, exit);
        var text = error.ToString();
        Assert.Contains("FAIL", text);
        Assert.Contains("did not answer within", text);
        Assert.DoesNotContain("   at ", text);
        Assert.Contains("demo: FAILED", output.ToString());
    }
}
