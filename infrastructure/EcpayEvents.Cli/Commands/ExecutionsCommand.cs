using System.Globalization;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events executions list|describe|history` — look at the payment-timeout executions (one per
/// payment, named after its MerchantTradeNo) on AWS or on the local Step Functions server.
/// Exit codes: 0 ok, 1 the service said no (e.g. no such execution), 2 bad usage.
/// </summary>
public static class ExecutionsCommand
{
    public const string Usage = """
        usage: ecpay-events executions list [--status RUNNING|SUCCEEDED|FAILED|TIMED_OUT|ABORTED] [--limit N]
               ecpay-events executions describe <merchant-trade-no | execution-arn>
               ecpay-events executions history  <merchant-trade-no | execution-arn> [--full]
          --endpoint URL            Step Functions endpoint; default $STEPFUNCTIONS_ENDPOINT, else AWS
                                    (the local server: http://127.0.0.1:4584)
          --state-machine-arn ARN   default $STATE_MACHINE_ARN; with a local endpoint, the local
                                    payment-timeout state machine
          --region REGION           default: the AWS SDK's chain (AWS_REGION, profile)
          --full                    history: print inputs, outputs and causes without shortening;
                                    describe: also print the raw cause of a wrapped Lambda error
        credentials come from the AWS SDK's chain (environment, profile, role); a local endpoint needs none.
        example: ecpay-events executions history EC20250101ABC123 --endpoint http://127.0.0.1:4584
        """;

    /// <summary>The state machine the local server runs by default.</summary>
    public const string LocalStateMachineArn = "arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout";

    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment, HttpClient? httpClient = null)
    {
        if (args is [] or ["-h" or "--help" or "help", ..])
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var cli = new StepFunctionsCommandLine("executions", stderr, environment);
        string? status = null;
        var limit = 100;
        var full = false;
        var parsed = cli.TryParse(args, (option, value) =>
        {
            switch (option)
            {
                case "--status": status = value().ToUpperInvariant(); return true;
                case "--limit": limit = int.TryParse(value(), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new StepFunctionsCommandLine.UsageException("--limit must be a positive number"); return true;
                case "--full": full = true; return true;
                default: return false;
            }
        });
        if (!parsed)
        {
            return 2;
        }
        if (status is not null && !ExecutionStatus.All.Contains(status))
        {
            return cli.Usage($"--status must be one of {string.Join(", ", ExecutionStatus.All)}");
        }

        return await cli.RunAsync(httpClient, client => cli.Positional switch
        {
            ["list"] => ListAsync(client, cli.RequireStateMachine(), status, limit, stdout),
            ["describe", var id] => DescribeAsync(client, ExecutionArn(id, cli), full, stdout),
            ["history", var id] => HistoryAsync(client, ExecutionArn(id, cli), full, stdout),
            _ => Task.FromResult(cli.Usage("expected list, describe <name> or history <name>")),
        });
    }

    private static async Task<int> ListAsync(StepFunctionsClient client, string stateMachineArn, string? status, int limit, TextWriter stdout)
    {
        var rows = new List<string[]> { new[] { "NAME", "STATUS", "STARTED (UTC)", "STOPPED (UTC)", "DURATION" } };
        // Pages no larger than what will be printed.
        await foreach (var e in client.ListAllExecutionsAsync(stateMachineArn, status, Math.Min(limit, StepFunctionsClient.MaxListResults)))
        {
            rows.Add([e.Name, e.Status, Time(e.StartDate), e.StopDate is { } stop ? Time(stop) : "-", Duration((e.StopDate ?? DateTimeOffset.UtcNow) - e.StartDate)]);
            if (rows.Count > limit)
            {
                break;
            }
        }
        if (rows.Count == 1)
        {
            stdout.WriteLine(status is null ? "no executions" : $"no {status} executions");
            return 0;
        }
        StepFunctionsCommandLine.WriteTable(rows, stdout);
        return 0;
    }

    private static async Task<int> DescribeAsync(StepFunctionsClient client, string executionArn, bool full, TextWriter stdout)
    {
        var e = await client.DescribeExecutionAsync(executionArn);
        stdout.WriteLine($"name:       {e.Name}");
        stdout.WriteLine($"status:     {e.Status}");
        stdout.WriteLine($"started:    {Time(e.StartDate)} UTC");
        stdout.WriteLine($"stopped:    {(e.StopDate is { } stop ? $"{Time(stop)} UTC ({Duration(stop - e.StartDate)})" : $"- (running for {Duration(DateTimeOffset.UtcNow - e.StartDate)})")}");
        stdout.WriteLine($"arn:        {e.ExecutionArn}");
        if (e.Error is not null || e.Cause is not null)
        {
            foreach (var line in FailureLines(e.Error, e.Cause, full))
                stdout.WriteLine(line);
        }
        stdout.WriteLine("input:");
        stdout.WriteLine(Indent(Pretty(e.Input)));
        if (e.Output is not null)
        {
            stdout.WriteLine("output:");
            stdout.WriteLine(Indent(Pretty(e.Output)));
        }
        return 0;
    }

    private static async Task<int> HistoryAsync(StepFunctionsClient client, string executionArn, bool full, TextWriter stdout)
    {
        var events = await client.GetFullExecutionHistoryAsync(executionArn);
        if (events.Count == 0)
        {
            stdout.WriteLine("no events");
            return 0;
        }
        var start = events[0].Timestamp;
        string? state = null;
        var rows = new List<string[]> { new[] { "#", "TIME (UTC)", "ELAPSED", "EVENT", "STATE", "DETAIL" } };
        foreach (var e in events)
        {
            state = e.StateEnteredEventDetails?.Name ?? state;
            var inState = e.Type.StartsWith("Execution", StringComparison.Ordinal) ? "" : state ?? "";
            rows.Add([e.Id.ToString(CultureInfo.InvariantCulture), Time(e.Timestamp), "+" + Duration(e.Timestamp - start), e.Type, inState, Shorten(Detail(e), full)]);
            if (e.StateExitedEventDetails is not null)
            {
                state = null;
            }
        }
        StepFunctionsCommandLine.WriteTable(rows, stdout);
        return 0;
    }

    /// <summary>
    /// describe's error lines. On AWS a failed Reconcile's error is Lambda Web Adapter's Rust type name and its cause
    /// the Lambda error JSON around {statusCode, body} around our {errorType, errorMessage}: when that is there,
    /// the underlying reason comes first and the raw error after it; anything else is printed as Step Functions gave it.
    /// </summary>
    public static IEnumerable<string> FailureLines(string? error, string? cause, bool full = false)
    {
        var failure = TaskFailure.Unwrap(error, cause);
        if (failure.ErrorType == error && failure.ErrorMessage == cause)
        {
            yield return $"error:      {error}";
            yield return $"cause:      {cause}";
            yield break;
        }
        yield return $"error:      {failure.ErrorType}{(failure.StatusCode is { } status ? string.Create(CultureInfo.InvariantCulture, $" (HTTP {status})") : "")}";
        yield return $"cause:      {failure.ErrorMessage}";
        yield return $"raw error:  {error}";
        if (full)
            yield return $"raw cause:  {cause}";
    }

    /// <summary>The one thing an operator wants to see about an event.</summary>
    private static string Detail(HistoryEvent e)
    {
        if (e.Failure is { } failure)
        {
            // The underlying reason when a Lambda (Web Adapter) error wraps it, else the error and cause as given.
            return TaskFailure.Unwrap(failure.Error, failure.Cause).ToString();
        }
        if (e.Type == "WaitStateEntered" && Field(e.StateEnteredEventDetails?.Input, "expiresAt") is { } until)
        {
            return $"until {until}";
        }
        return e switch
        {
            { ExecutionStartedEventDetails.Input: { } input } => $"input {input}",
            { LambdaFunctionScheduledEventDetails: { } scheduled } => $"{scheduled.Resource} (timeout {scheduled.TimeoutInSeconds} s)",
            { LambdaFunctionSucceededEventDetails.Output: { } output } => $"answered {output}",
            { ExecutionSucceededEventDetails.Output: { } output } => $"output {output}",
            _ => "",
        };
    }

    private static string? Field(string? json, string name)
    {
        if (json is null)
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out var value) ? value.ToString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ExecutionArn(string nameOrArn, StepFunctionsCommandLine cli) =>
        nameOrArn.StartsWith("arn:", StringComparison.Ordinal)
            ? nameOrArn
            : StepFunctionsClient.ExecutionArnOf(cli.RequireStateMachine("or give a full execution ARN"), nameOrArn);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan d) =>
        d.TotalDays >= 1 ? $"{(int)d.TotalDays}d{d.Hours:00}h{d.Minutes:00}m"
        : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h{d.Minutes:00}m{d.Seconds:00}s"
        : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}m{d.Seconds:00}s"
        : string.Create(CultureInfo.InvariantCulture, $"{d.TotalSeconds:0.000}s");

    private static string Shorten(string text, bool full) => full || text.Length <= 120 ? text : text[..117] + "...";

    private static string Pretty(string? json)
    {
        if (json is null)
        {
            return "null";
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                doc.WriteTo(writer);
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return json;
        }
    }

    private static string Indent(string text) => "  " + text.ReplaceLineEndings("\n  ");
}
