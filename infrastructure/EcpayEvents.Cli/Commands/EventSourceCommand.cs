using System.Globalization;
using System.Runtime.InteropServices;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Messaging;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events event-source` — the local stand-in for Lambda's SQS event source mapping: polls a
/// queue and POSTs batches to a service's /events (see <see cref="SqsEventSourceRunner"/>).
/// </summary>
public static class EventSourceCommand
{
    public const string Usage = """
        usage: ecpay-events event-source --sqs-endpoint URL --queue-url URL --target URL
                                         [--batch-size 10] [--wait-seconds 20] [--pollers 3] [--visibility-timeout N] [--region us-east-1]
          e.g. --sqs-endpoint http://127.0.0.1:4566 --queue-url http://127.0.0.1:4566/000000000000/payment-results
               --target http://127.0.0.1:5082/events
          --pollers: receive → POST → delete loops side by side (Lambda's MaximumConcurrency), 1–100.
          Stops on Ctrl-C / SIGTERM within --wait-seconds: a batch in hand is finished, one received while
          stopping is made visible again. One JSON line (with a UTC Timestamp) per batch.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["-h" or "--help", ..]) { Console.WriteLine(Usage); return 0; }
        var endpoint = Option(args, "--sqs-endpoint");
        var queueUrl = Option(args, "--queue-url");
        var target = Option(args, "--target");
        if (endpoint is null || queueUrl is null || target is null) return Fail("--sqs-endpoint, --queue-url and --target are required");
        if (!Uri.TryCreate(target, UriKind.Absolute, out var targetUri)) return Fail($"--target '{target}' is not an absolute URL");
        if (!TryInt(args, "--batch-size", 10, 1, 10, out var batchSize)
            || !TryInt(args, "--wait-seconds", 20, 0, 20, out var waitSeconds)
            || !TryInt(args, "--pollers", SqsEventSourceOptions.DefaultPollers, 1, SqsEventSourceOptions.MaxPollers, out var pollers)
            || !TryInt(args, "--visibility-timeout", -1, 0, 43_200, out var visibility))
            return Fail($"--batch-size must be 1–10, --wait-seconds 0–20, --pollers 1–{SqsEventSourceOptions.MaxPollers}, --visibility-timeout 0–43200");
        var region = Option(args, "--region") ?? "us-east-1";

        var options = new SqsEventSourceOptions(queueUrl, targetUri, batchSize, waitSeconds, visibility < 0 ? null : visibility, region, pollers);
        using var sqs = SqsEventSourceRunner.CreateSqsClient(new SqsOptions { QueueUrl = queueUrl, ServiceUrl = endpoint, Region = region }, options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        EventSourceLog.Write(Console.Out, "start", $"\"queueUrl\":{EventSourceLog.JsonString(queueUrl)},\"target\":{EventSourceLog.JsonString(targetUri.ToString())},\"batchSize\":{batchSize},\"waitSeconds\":{waitSeconds},\"pollers\":{pollers},\"receiveTimeoutSeconds\":{(int)options.ReceiveTimeout.TotalSeconds}");
        await new SqsEventSourceRunner(sqs, http, options, Console.Out).RunAsync(stop.Token);
        EventSourceLog.Write(Console.Out, "stopped");
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static bool TryInt(string[] args, string name, int fallback, int min, int max, out int value)
    {
        var text = Option(args, name);
        if (text is null) { value = fallback; return true; }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ecpay-events event-source: {message}\n{Usage}");
        return 2;
    }
}
