using System.Globalization;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Cli.Demo;

/// <summary>
/// The expiry half of <c>ecpay-events demo</c>: a deposit that is never paid, expired by its
/// payment-timeout execution (named after its MerchantTradeNo). Prints each step and the execution's
/// history; true only if the execution succeeded in Expired and the transaction ended <c>expired</c>.
/// </summary>
public static class DemoExpiry
{
    /// <param name="api">PaymentsApi, e.g. http://127.0.0.1:5080.</param>
    /// <param name="stepFunctions">A client for the Step Functions endpoint the PaymentsApi schedules on.</param>
    /// <param name="stateMachineArn">The payment-timeout state machine.</param>
    /// <param name="slack">How long after the expiry to keep waiting for the execution (default 60 s).</param>
    /// <param name="maxWait">
    /// The longest the demo will wait for the deposit to expire (default 20 min). A stack whose card
    /// deposits live longer (e.g. an interactive <c>./run.sh</c> with a realistic expiry) fails fast
    /// with the setting to change instead of hanging; within it the demo says how long it will wait.
    /// </param>
    public static async Task<bool> RunAsync(Uri api, StepFunctionsClient stepFunctions, string stateMachineArn, TextWriter output,
        TimeSpan? slack = null, HttpClient? httpClient = null, CancellationToken ct = default, TimeSpan? maxWait = null)
    {
        using var ownHttp = httpClient is null ? new HttpClient { Timeout = TimeSpan.FromSeconds(30) } : null;
        var http = httpClient ?? ownHttp!;

        output.WriteLine("1. A user");
        var suffix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        using var user = await PostAsync(http, new Uri(api, "/users"), $$"""{"username":"expiry-demo-{{suffix}}","email":"expiry-demo-{{suffix}}@example.com"}""", ct);
        var userId = user.RootElement.GetProperty("id").GetInt64();
        output.WriteLine($"   user {userId}");

        output.WriteLine("2. A deposit of 100 TWD by credit card, which nobody will pay");
        using var deposit = await PostAsync(http, new Uri(api, $"/users/{userId}/deposits"), """{"amount":100,"paymentMethod":"Credit"}""", ct);
        var transactionId = deposit.RootElement.GetProperty("transactionId").GetInt64();
        var merchantTradeNo = deposit.RootElement.GetProperty("merchantTradeNo").GetString()!;
        var expiresAt = deposit.RootElement.GetProperty("expiresAt").GetDateTimeOffset();
        output.WriteLine($"   transaction {transactionId}, MerchantTradeNo {merchantTradeNo}, expires {Time(expiresAt)} UTC (in {Math.Max(0, (expiresAt - DateTimeOffset.UtcNow).TotalSeconds):0} s)");

        var limit = maxWait ?? TimeSpan.FromMinutes(20);
        var untilExpiry = expiresAt - DateTimeOffset.UtcNow;
        if (untilExpiry > limit)
        {
            output.WriteLine($"   ✘ it only expires at {expiresAt:u} (in {Duration(untilExpiry)}), later than this demo waits ({Duration(limit)}, --max-expiry-wait);");
            output.WriteLine("     for the demo run a stack with a short expiry: stop it and run ./run.sh demo (20 s), or LOCAL_EXPIRY_SECONDS=20 ./run.sh");
            return false;
        }
        if (untilExpiry > TimeSpan.FromSeconds(90))
            output.WriteLine($"   this stack's card deposits expire after {Duration(untilExpiry)}: waiting that long (progress every minute; Ctrl-C stops)");

        var executionArn = StepFunctionsClient.ExecutionArnOf(stateMachineArn, merchantTradeNo);
        output.WriteLine($"3. Its payment-timeout execution {merchantTradeNo}, as it runs");
        var deadline = expiresAt + (slack ?? TimeSpan.FromSeconds(60));
        var printed = 0;
        var nextProgress = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1);
        DescribeExecutionResponse execution;
        while (true)
        {
            execution = await stepFunctions.DescribeExecutionAsync(executionArn, ct);
            var history = await stepFunctions.GetFullExecutionHistoryAsync(executionArn, ct);
            foreach (var e in history.Skip(printed))
                output.WriteLine($"   {Time(e.Timestamp)}  {Step(e)}");
            printed = history.Count;
            if (execution.Status != ExecutionStatus.Running) break;
            if (DateTimeOffset.UtcNow > deadline)
            {
                output.WriteLine($"   ✘ still RUNNING {(DateTimeOffset.UtcNow - expiresAt).TotalSeconds:0} s after the expiry");
                return false;
            }
            if (DateTimeOffset.UtcNow >= nextProgress && expiresAt > DateTimeOffset.UtcNow)
            {
                output.WriteLine($"   … still waiting: the deposit expires in {Duration(expiresAt - DateTimeOffset.UtcNow)}");
                nextProgress = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        }
        var outcome = Outcome(execution.Output);
        output.WriteLine($"   execution {execution.Status}{(outcome is null ? "" : $", outcome {outcome}")}{(execution.Error is null ? "" : $", error {execution.Error}: {execution.Cause}")}");

        output.WriteLine("4. The transaction, as the frontend polls it");
        using var response = await http.GetAsync(new Uri(api, $"/transactions/{transactionId}"), ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            output.WriteLine($"   ✘ GET /transactions/{transactionId} answered {(int)response.StatusCode}: {text}");
            return false;
        }
        using var transaction = JsonDocument.Parse(text);
        var status = transaction.RootElement.GetProperty("status").GetString();
        var ok = execution.Status == ExecutionStatus.Succeeded && outcome == ReconcileOutcome.Expired && status == "expired";
        output.WriteLine(ok
            ? $"   ✔ status {status}: the unpaid deposit expired through the state machine"
            : $"   ✘ status {status}, execution {execution.Status} (outcome {outcome ?? "none"}): expected expired");
        return ok;
    }

    /// <summary>One history event as a line: the state and what happened in it.</summary>
    private static string Step(HistoryEvent e)
    {
        var what = e.Type switch
        {
            "ExecutionStarted" => "execution started",
            "WaitStateEntered" when e.StateName == "WaitForSettlement" => "WaitForSettlement: ECPay said paid; waiting for Settlement to apply it",
            "WaitStateEntered" when e.StateName == "WaitUntilExtendedExpiry" =>
                $"{e.StateName}: waiting until {Field(Field(Field(e.StateEnteredEventDetails?.Input, "reconcile"), "next"), "expiresAt")}",
            "WaitStateEntered" => $"{e.StateName}: waiting until {Field(e.StateEnteredEventDetails?.Input, "expiresAt")}",
            "LambdaFunctionScheduled" => "Reconcile: asking the Timeouts service (QueryTradeInfo)",
            "LambdaFunctionSucceeded" => $"Reconcile answered {e.LambdaFunctionSucceededEventDetails?.Output}",
            "LambdaFunctionFailed" or "LambdaFunctionTimedOut" => $"Reconcile failed: {TaskFailure.Unwrap(e.Failure?.Error, e.Failure?.Cause)}",
            "ExecutionSucceeded" => "execution succeeded",
            "ExecutionFailed" => $"execution failed: {TaskFailure.Unwrap(e.Failure?.Error, e.Failure?.Cause)}",
            "ExecutionRedriven" => "execution resumed after the local Step Functions server restarted",
            var type when type.EndsWith("StateEntered", StringComparison.Ordinal) => $"{e.StateName}: entered",
            var type when type.EndsWith("StateExited", StringComparison.Ordinal) => $"{e.StateName}: exited",
            var type => type,
        };
        return what;
    }

    private static async Task<JsonDocument> PostAsync(HttpClient http, Uri url, string json, CancellationToken ct)
    {
        using var response = await http.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST {url.AbsolutePath} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }

    private static string? Outcome(string? output)
    {
        if (output is null) return null;
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.TryGetProperty("reconcile", out var r) && r.ValueKind == JsonValueKind.Object && r.TryGetProperty("outcome", out var o) ? o.GetString() : null;
    }

    private static string? Field(string? json, string name)
    {
        if (json is null) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(name, out var v) ? v.ToString() : null;
    }

    private static string Duration(TimeSpan t) => t.TotalSeconds < 120
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, t.TotalSeconds):0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0.#} min");

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
