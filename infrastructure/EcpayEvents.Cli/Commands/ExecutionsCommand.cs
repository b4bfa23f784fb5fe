using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Output;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events executions list|describe|history` — look at the payment-timeout executions (one per
/// payment, named after its MerchantTradeNo) on AWS or on the local Step Functions server.
/// </summary>
public static class ExecutionsCommand
{
    /// <summary>The state machine the local server runs by default.</summary>
    public const string LocalStateMachineArn = Settings.LocalStateMachineArn;

    /// <summary>`ecpay-events executions ARGS` in this process (for tests and callers that hold an HTTP client).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment, HttpClient? httpClient = null) =>
        EcpayEventsCommandLine.InvokeAsync(["executions", .. args], CliContext.For(stdout, stderr, environment, httpClient));

    public static Command Create(CliContext context)
    {
        var executions = new Command("executions", "payment-timeout executions (one per payment, named after its MerchantTradeNo) on AWS or the local server");
        var status = new Option<string>("--status") { Description = "only executions with this status", HelpName = "STATUS" };
        status.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, [.. ExecutionStatus.All]);
        var limit = new Option<int>("--limit") { Description = "at most N executions (newest first)", DefaultValueFactory = _ => 100, HelpName = "N" };
        limit.Validators.Add(r => { if (r.ValueOr(1) < 1) r.AddError("--limit must be a positive number"); });
        var list = new Command("list", "executions with their outcome (the state they ended in: Paid, Expired, Confirmed, NeedsReview …)") { status, limit }
            .With(context.Options.StepFunctions).With(context.Options.Json);
        list.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            using var own = OwnHttp();
            var client = settings.StepFunctions(own);
            return await ListAsync(client, settings.RequireStateMachine(), parse.GetValue(status)?.ToUpperInvariant(), parse.GetValue(limit), settings.Json, context.Stdout, ct);
        });

        var full = new Option<bool>("--full") { Description = "history: inputs, outputs and causes without shortening; describe: also the raw cause of a wrapped Lambda error" };
        var name = new Argument<string>("merchant-trade-no | execution-arn") { Description = "the execution: its name (the MerchantTradeNo) or ARN" };
        var describe = new Command("describe", "one execution: status, times, failure, input and output") { name, full }.With(context.Options.StepFunctions).With(context.Options.Json);
        describe.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            using var own = OwnHttp();
            var client = settings.StepFunctions(own);
            return await DescribeAsync(client, ExecutionArn(parse.GetValue(name)!, settings), parse.GetValue(full), settings.Json, context.Stdout, ct);
        });
        var history = new Command("history", "one execution's events, oldest first") { name, full }.With(context.Options.StepFunctions).With(context.Options.Json);
        history.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            using var own = OwnHttp();
            var client = settings.StepFunctions(own);
            return await HistoryAsync(client, ExecutionArn(parse.GetValue(name)!, settings), parse.GetValue(full), settings.Json, context.Stdout, ct);
        });
        executions.Subcommands.Add(list);
        executions.Subcommands.Add(describe);
        executions.Subcommands.Add(history);
        return executions;
    }

    /// <summary>An HTTP client for AWS calls when the context has none.</summary>
    internal static HttpClient OwnHttp() => new(new NamedEndpointHandler("Step Functions")) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>
    /// The state a closed execution ended in, from its output (Succeed states) or error (NeedsReview): what
    /// happened to the payment, which the execution's status alone (SUCCEEDED for expired and paid alike) does not say.
    /// </summary>
    public static string Outcome(DescribeExecutionResponse e)
    {
        if (e.Status == ExecutionStatus.Running) return "waiting";
        if (e.Status != ExecutionStatus.Succeeded)
            return e.Error is null && e.Cause is null ? e.Status : $"NeedsReview: {TaskFailure.Unwrap(e.Error, e.Cause).ErrorType}";
        var output = JsonOutput.Parse(e.Output) as JsonObject;
        var outcome = (output?["reconcile"] as JsonObject)?["outcome"]?.ToString();
        var settlementChecked = output?["settlement"] is not null;
        return outcome switch
        {
            "settled" or "confirmed" when settlementChecked => "Paid",
            "settled" => "Settled",
            "confirmed" => "Confirmed",
            "unconfirmed" => "Unconfirmed",
            "expired" => "Expired",
            "abandoned" => "NoSuchPayment",
            _ => outcome ?? "?",
        };
    }

    private static async Task<int> ListAsync(StepFunctionsClient client, string stateMachineArn, string? status, int limit, bool json, TextWriter stdout, CancellationToken ct)
    {
        var listed = new List<ExecutionListItem>();
        // Pages no larger than what will be printed.
        await foreach (var e in client.ListAllExecutionsAsync(stateMachineArn, status, Math.Min(limit, StepFunctionsClient.MaxListResults), ct))
        {
            listed.Add(e);
            if (listed.Count >= limit) break;
        }
        // The outcome is in each execution's output or error: one DescribeExecution each, a few at a time.
        var outcomes = new string[listed.Count];
        await Parallel.ForAsync(0, listed.Count, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (i, token) =>
            outcomes[i] = Outcome(await client.DescribeExecutionAsync(listed[i].ExecutionArn, token)));
        if (json)
        {
            JsonOutput.Write(stdout, new JsonObject
            {
                ["executions"] = new JsonArray([.. listed.Select((e, i) => (JsonNode)new JsonObject
                {
                    ["name"] = e.Name, ["status"] = e.Status, ["outcome"] = outcomes[i],
                    ["startedAt"] = JsonOutput.Time(e.StartDate), ["stoppedAt"] = JsonOutput.Time(e.StopDate), ["executionArn"] = e.ExecutionArn,
                })]),
            });
            return ExitCodes.Ok;
        }
        if (listed.Count == 0)
        {
            stdout.WriteLine(status is null ? "no executions" : $"no {status} executions");
            return ExitCodes.Ok;
        }
        TextTable.Write(stdout, ["NAME", "STATUS", "OUTCOME", "STARTED (UTC)", "STOPPED (UTC)", "DURATION"], listed.Select((e, i) => (IReadOnlyList<string>)
            [e.Name, e.Status, outcomes[i], Times.UtcMillis(e.StartDate), e.StopDate is { } stop ? Times.UtcMillis(stop) : "-", Times.Duration((e.StopDate ?? DateTimeOffset.UtcNow) - e.StartDate)]));
        return ExitCodes.Ok;
    }

    private static async Task<int> DescribeAsync(StepFunctionsClient client, string executionArn, bool full, bool json, TextWriter stdout, CancellationToken ct)
    {
        var e = await client.DescribeExecutionAsync(executionArn, ct);
        if (json)
        {
            var failure = e.Error is null && e.Cause is null ? null : TaskFailure.Unwrap(e.Error, e.Cause);
            JsonOutput.Write(stdout, new JsonObject
            {
                ["name"] = e.Name, ["status"] = e.Status, ["outcome"] = Outcome(e), ["executionArn"] = e.ExecutionArn,
                ["startedAt"] = JsonOutput.Time(e.StartDate), ["stoppedAt"] = JsonOutput.Time(e.StopDate),
                ["error"] = failure?.ErrorType, ["cause"] = failure?.ErrorMessage, ["rawError"] = e.Error, ["rawCause"] = e.Cause,
                ["input"] = JsonOutput.Parse(e.Input), ["output"] = JsonOutput.Parse(e.Output),
            });
            return ExitCodes.Ok;
        }
        stdout.WriteLine($"name:       {e.Name}");
        stdout.WriteLine($"status:     {e.Status}");
        stdout.WriteLine($"outcome:    {Outcome(e)}");
        stdout.WriteLine($"started:    {Times.UtcMillis(e.StartDate)} UTC");
        stdout.WriteLine($"stopped:    {(e.StopDate is { } stop ? $"{Times.UtcMillis(stop)} UTC ({Times.Duration(stop - e.StartDate)})" : $"- (running for {Times.Duration(DateTimeOffset.UtcNow - e.StartDate)})")}");
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
        return ExitCodes.Ok;
    }

    /// <summary>An execution's events as rows: id, time, state they happened in, and the one thing worth seeing.</summary>
    public static List<(HistoryEvent Event, string State, string Detail)> Timeline(IReadOnlyList<HistoryEvent> events)
    {
        var rows = new List<(HistoryEvent, string, string)>();
        string? state = null;
        foreach (var e in events)
        {
            state = e.StateEnteredEventDetails?.Name ?? state;
            var inState = e.Type.StartsWith("Execution", StringComparison.Ordinal) ? "" : state ?? "";
            rows.Add((e, inState, Detail(e)));
            if (e.StateExitedEventDetails is not null) state = null;
        }
        return rows;
    }

    private static async Task<int> HistoryAsync(StepFunctionsClient client, string executionArn, bool full, bool json, TextWriter stdout, CancellationToken ct)
    {
        var events = await client.GetFullExecutionHistoryAsync(executionArn, ct);
        var timeline = Timeline(events);
        if (json)
        {
            JsonOutput.Write(stdout, new JsonObject
            {
                ["events"] = new JsonArray([.. timeline.Select(t => (JsonNode)new JsonObject
                {
                    ["id"] = t.Event.Id, ["time"] = JsonOutput.Time(t.Event.Timestamp), ["type"] = t.Event.Type, ["state"] = t.State, ["detail"] = t.Detail,
                })]),
            });
            return ExitCodes.Ok;
        }
        if (events.Count == 0)
        {
            stdout.WriteLine("no events");
            return ExitCodes.Ok;
        }
        var start = events[0].Timestamp;
        TextTable.Write(stdout, ["#", "TIME (UTC)", "ELAPSED", "EVENT", "STATE", "DETAIL"], timeline.Select(t => (IReadOnlyList<string>)
            [t.Event.Id.ToString(CultureInfo.InvariantCulture), Times.UtcMillis(t.Event.Timestamp), "+" + Times.Duration(t.Event.Timestamp - start), t.Event.Type, t.State, Shorten(t.Detail, full)]));
        return ExitCodes.Ok;
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
        if (e.Type == "WaitStateEntered")
        {
            // WaitUntilExpiry waits for expiresAt, WaitUntilExtendedExpiry for the answer's next expiresAt (its input is the
            // state before its InputPath); WaitForSettlement waits a fixed time before asking again.
            var input = e.StateEnteredEventDetails?.Input;
            var until = e.StateEnteredEventDetails?.Name switch
            {
                "WaitUntilExpiry" => Field(input, "expiresAt"),
                "WaitUntilExtendedExpiry" => Field(Field(Field(input, "reconcile"), "next"), "expiresAt"),
                _ => null,
            };
            return until is not null ? $"until {until}"
                : Field(input, "settlement") is { } settlement ? $"before settlement check {SettlementCheck(settlement)}"
                : "";
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

    /// <summary>"1" for the first check ({}), n+1 after {"checks": n}.</summary>
    private static string SettlementCheck(string settlement) =>
        Field(settlement, "checks") is { } n && int.TryParse(n, CultureInfo.InvariantCulture, out var checks) ? (checks + 1).ToString(CultureInfo.InvariantCulture) : "1";

    private static string ExecutionArn(string nameOrArn, Settings settings) =>
        nameOrArn.StartsWith("arn:", StringComparison.Ordinal)
            ? nameOrArn
            : StepFunctionsClient.ExecutionArnOf(settings.RequireStateMachine("or give a full execution ARN"), nameOrArn);

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
