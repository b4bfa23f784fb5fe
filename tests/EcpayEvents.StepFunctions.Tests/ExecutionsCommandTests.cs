using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Cli.Commands;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

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
    public async Task TheTimelineShowsTheExtendedExpiryTheTimerWaitsFor()
    {
        // WaitUntilExtendedExpiry's input is the state before its InputPath: the time it waits for is the answer's next expiresAt.
        var tradeNo = $"CLX{Guid.NewGuid():N}"[..20];
        var extendedTo = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
        stack.Timeouts.Answer(tradeNo, (attempt, _) => attempt == 1
            ? (200, JsonSerializer.Serialize(ReconcileAnswer.ExtendTo(new PaymentTimeoutInput(9, tradeNo, DateTimeOffset.UtcNow), extendedTo), PaymentTimeoutJsonContext.Default.ReconcileAnswer))
            : FakeTimeoutsService.Json(new { outcome = ReconcileOutcome.Expired }));
        var client = stack.CreateClient();
        var scheduled = await client.StartOrFindExecutionAsync(tradeNo, new PaymentTimeoutInput(9, tradeNo, DateTimeOffset.UtcNow.AddMilliseconds(300)).ToJson());
        await stack.WaitUntilClosedAsync(scheduled.ExecutionArn);

        var history = await RunAsync("history", scheduled.ExecutionArn);
        Assert.Equal(0, history.ExitCode);
        var until = extendedTo.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(history.Stdout.Split('\n'), l => l.Contains("WaitStateEntered") && l.Contains("WaitUntilExtendedExpiry") && l.Contains($"until {until}"));
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

    // ------------------------------------------------------------------ against a stub endpoint

    /// <summary>Answers each operation with a canned JSON body and records the requests.</summary>
    private sealed class StubStepFunctions(Dictionary<string, string> answers) : HttpMessageHandler
    {
        public List<(string Operation, JsonDocument Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var operation = request.Headers.GetValues("X-Amz-Target").Single()["AWSStepFunctions.".Length..];
            Requests.Add((operation, JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answers[operation], Encoding.UTF8, "application/x-amz-json-1.0") };
        }
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr, StubStepFunctions Stub)> RunAgainstStubAsync(Dictionary<string, string> answers, params string[] args)
    {
        var stub = new StubStepFunctions(answers);
        using var http = new HttpClient(stub);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exitCode = await ExecutionsCommand.RunAsync([.. args, "--endpoint", "http://127.0.0.1:1/"], stdout, stderr, _ => null, http);
        return (exitCode, stdout.ToString(), stderr.ToString(), stub);
    }

    private static readonly Dictionary<string, string> NoExecutions = new() { ["ListExecutions"] = """{"executions":[]}""" };

    [Theory]
    [InlineData(new string[0], 100)]
    [InlineData(new[] { "--limit", "5" }, 5)]
    [InlineData(new[] { "--limit", "1000" }, 1000)]
    [InlineData(new[] { "--limit", "5000" }, 1000)]
    public async Task ListAsksForNoMoreThanItPrints(string[] limit, int maxResults)
    {
        var (exitCode, stdout, _, stub) = await RunAgainstStubAsync(NoExecutions, ["list", "--status", "FAILED", .. limit]);

        Assert.Equal(0, exitCode);
        Assert.Equal("no FAILED executions", stdout.Trim());
        var (operation, body) = Assert.Single(stub.Requests);
        Assert.Equal("ListExecutions", operation);
        Assert.Equal(maxResults, body.RootElement.GetProperty("maxResults").GetInt32());
        Assert.Equal("FAILED", body.RootElement.GetProperty("statusFilter").GetString());
    }

    [Fact]
    public async Task ListStopsAtTheLimitAcrossPages()
    {
        static string Item(int i) => $$"""{"executionArn":"arn:aws:states:us-east-1:000000000000:execution:payment-timeout:E{{i}}","stateMachineArn":"{{ExecutionsCommand.LocalStateMachineArn}}","name":"E{{i}}","status":"RUNNING","startDate":1764050400.5}""";
        var page = $$"""{"executions":[{{Item(1)}},{{Item(2)}}],"nextToken":"more"}""";

        var described = $$"""{"executionArn":"arn:aws:states:us-east-1:000000000000:execution:payment-timeout:E1","stateMachineArn":"{{ExecutionsCommand.LocalStateMachineArn}}","name":"E1","status":"RUNNING","startDate":1764050400.5,"input":"{}"}""";
        var (exitCode, stdout, _, stub) = await RunAgainstStubAsync(new() { ["ListExecutions"] = page, ["DescribeExecution"] = described }, "list", "--limit", "3");

        Assert.Equal(0, exitCode);
        var lists = stub.Requests.Where(r => r.Operation == "ListExecutions").ToList();
        Assert.Equal(2, lists.Count); // the second page had what was missing
        Assert.All(lists, r => Assert.Equal(3, r.Body.RootElement.GetProperty("maxResults").GetInt32()));
        Assert.Equal(1 + 3, stdout.Trim().Split('\n').Length);
    }

    /// <summary>What Step Functions reports for a Reconcile failed through Lambda Web Adapter 1.0 (AWS_LWA_ERROR_STATUS_CODES).</summary>
    private const string AdapterError = "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>";
    private const string AdapterCause = """{"errorType":"&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>","errorMessage":"{\"statusCode\":503,\"body\":\"{\\\"errorType\\\":\\\"Reconcile.EcpayUnavailable\\\",\\\"errorMessage\\\":\\\"QueryTradeInfo: timed out: 5 s\\\"}\"}"}""";

    [Fact]
    public void TheAdapterCauseIsTheNestedJsonOfTheIssue()
    {
        using var outer = JsonDocument.Parse(AdapterCause);
        using var adapter = JsonDocument.Parse(outer.RootElement.GetProperty("errorMessage").GetString()!);
        using var ours = JsonDocument.Parse(adapter.RootElement.GetProperty("body").GetString()!);
        Assert.Equal(503, adapter.RootElement.GetProperty("statusCode").GetInt32());
        Assert.Equal("Reconcile.EcpayUnavailable", ours.RootElement.GetProperty("errorType").GetString());
    }

    [Fact]
    public void FailureLinesUnwrapTheAdapterErrorAndKeepTheRawOne()
    {
        Assert.Equal(
            [
                "error:      Reconcile.EcpayUnavailable (HTTP 503)",
                "cause:      QueryTradeInfo: timed out: 5 s",
                $"raw error:  {AdapterError}",
            ],
            ExecutionsCommand.FailureLines(AdapterError, AdapterCause));
        Assert.Equal($"raw cause:  {AdapterCause}", ExecutionsCommand.FailureLines(AdapterError, AdapterCause, full: true).Last());
    }

    [Theory]
    [InlineData("Reconcile.UnexpectedOutcome", "{\"outcome\":\"bogus\"}")]
    [InlineData("States.Timeout", null)]
    [InlineData("Operator.Stopped", "not JSON at all")]
    [InlineData("X", "{\"errorType\":\"Y\"}")]
    public void FailureLinesPrintAnythingElseAsGiven(string error, string? cause) =>
        Assert.Equal([$"error:      {error}", $"cause:      {cause}"], ExecutionsCommand.FailureLines(error, cause));

    [Fact]
    public async Task DescribeAndHistoryShowTheUnderlyingReasonOfAFailedReconcile()
    {
        var arn = "arn:aws:states:us-east-1:000000000000:execution:payment-timeout:EEFAILED";
        var causeJson = JsonSerializer.Serialize(AdapterCause);
        var errorJson = JsonSerializer.Serialize(AdapterError);
        var answers = new Dictionary<string, string>
        {
            ["DescribeExecution"] = $$$"""
                {"executionArn":"{{{arn}}}","stateMachineArn":"{{{ExecutionsCommand.LocalStateMachineArn}}}","name":"EEFAILED","status":"FAILED",
                 "startDate":1764050400.0,"stopDate":1764050460.0,"input":"{\"transactionId\":1,\"merchantTradeNo\":\"EEFAILED\",\"expiresAt\":\"2026-11-25T06:00:00.000Z\"}",
                 "error":{{{errorJson}}},"cause":{{{causeJson}}}}
                """,
            ["GetExecutionHistory"] = $$$"""
                {"events":[
                  {"id":1,"previousEventId":0,"timestamp":1764050400.0,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Reconcile"}},
                  {"id":2,"previousEventId":1,"timestamp":1764050401.0,"type":"LambdaFunctionFailed","lambdaFunctionFailedEventDetails":{"error":{{{errorJson}}},"cause":{{{causeJson}}}}},
                  {"id":3,"previousEventId":2,"timestamp":1764050460.0,"type":"ExecutionFailed","executionFailedEventDetails":{"error":{{{errorJson}}},"cause":{{{causeJson}}}}}
                ]}
                """,
        };

        var describe = await RunAgainstStubAsync(answers, "describe", arn);
        var history = await RunAgainstStubAsync(answers, "history", arn);

        Assert.Equal(0, describe.ExitCode);
        Assert.Contains("status:     FAILED\n", describe.Stdout);
        Assert.Contains("error:      Reconcile.EcpayUnavailable (HTTP 503)\n", describe.Stdout);
        Assert.Contains("cause:      QueryTradeInfo: timed out: 5 s\n", describe.Stdout);
        Assert.Contains($"raw error:  {AdapterError}\n", describe.Stdout);
        Assert.DoesNotContain("statusCode", describe.Stdout);
        Assert.Equal(0, history.ExitCode);
        var lines = history.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Contains("LambdaFunctionFailed") && l.EndsWith("Reconcile.EcpayUnavailable (HTTP 503): QueryTradeInfo: timed out: 5 s", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ExecutionFailed") && l.EndsWith("Reconcile.EcpayUnavailable (HTTP 503): QueryTradeInfo: timed out: 5 s", StringComparison.Ordinal));
    }
}
