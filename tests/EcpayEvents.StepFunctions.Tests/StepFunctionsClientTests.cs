using System.Net;
using System.Text;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Testing;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>The API semantics the services rely on: idempotent starts, error codes, list/describe/history shapes.</summary>
public sealed class StepFunctionsClientTests(LocalStepFunctions stack)
{
    private readonly StepFunctionsClient client = stack.CreateClient();

    private static string NewTradeNo(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    // Executions that must still be running while a test looks at them wait 3 s: enough on a loaded machine.
    private static string InputFor(string tradeNo, TimeSpan delay) =>
        new PaymentTimeoutInput(7, tradeNo, DateTimeOffset.UtcNow + delay).ToJson();

    /// <summary>An answer held until <c>Gate</c> is set: the execution stays RUNNING until then, however slow the machine.</summary>
    private static (ManualResetEventSlim Gate, FakeTimeoutsService.Script Script) HeldAnswer(object outcome)
    {
        var gate = new ManualResetEventSlim();
        return (gate, (_, _) =>
        {
            gate.Wait(TimeSpan.FromMinutes(2));
            return FakeTimeoutsService.Json(outcome);
        });
    }

    [Fact]
    public async Task StartingTheSamePaymentTwiceWhileRunningReturnsTheSameExecution()
    {
        var tradeNo = NewTradeNo("TWICE");
        var (gate, answer) = HeldAnswer(new { outcome = "expired" });
        stack.Timeouts.Answer(tradeNo, answer);
        var input = InputFor(tradeNo, TimeSpan.FromSeconds(3));

        StartExecutionResponse first, again;
        ScheduledExecution viaHelper;
        try
        {
            first = await client.StartExecutionAsync(new StartExecutionRequest(LocalStepFunctionsServer.PaymentTimeoutArn, tradeNo, input));
            again = await client.StartExecutionAsync(new StartExecutionRequest(LocalStepFunctionsServer.PaymentTimeoutArn, tradeNo, input));
            viaHelper = await client.StartOrFindExecutionAsync(tradeNo, input);
        }
        finally
        {
            gate.Set();
        }

        Assert.Equal(first.ExecutionArn, again.ExecutionArn);
        Assert.Equal(first.StartDate, again.StartDate);
        Assert.Equal(first.ExecutionArn, viaHelper.ExecutionArn);
        await stack.WaitUntilClosedAsync(first.ExecutionArn);
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task TheSameNameWithAnotherInputIsExecutionAlreadyExists()
    {
        var tradeNo = NewTradeNo("OTHER");
        var (gate, answer) = HeldAnswer(new { outcome = "expired" });
        stack.Timeouts.Answer(tradeNo, answer);
        ScheduledExecution running, helper;
        StepFunctionsException e;
        try
        {
            running = await client.StartOrFindExecutionAsync(tradeNo, InputFor(tradeNo, TimeSpan.FromSeconds(3)));
            e = await Assert.ThrowsAsync<StepFunctionsException>(() =>
                client.StartExecutionAsync(new StartExecutionRequest(LocalStepFunctionsServer.PaymentTimeoutArn, tradeNo, InputFor(tradeNo, TimeSpan.FromHours(1)))));
            helper = await client.StartOrFindExecutionAsync(tradeNo, InputFor(tradeNo, TimeSpan.FromHours(1)));
        }
        finally
        {
            gate.Set();
        }

        Assert.Equal(StepFunctionsErrorCodes.ExecutionAlreadyExists, e.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        Assert.True(helper.AlreadyScheduled);
        Assert.Equal(running.ExecutionArn, helper.ExecutionArn);
    }

    [Fact]
    public async Task AfterTheExecutionClosedItsNameIsAlreadyScheduledForGood()
    {
        var tradeNo = NewTradeNo("CLOSED");
        stack.Timeouts.Answer(tradeNo, (_, _) => FakeTimeoutsService.Json(new { outcome = "expired" })); // closes after one Reconcile
        var input = InputFor(tradeNo, TimeSpan.FromMilliseconds(300));
        var first = await client.StartOrFindExecutionAsync(tradeNo, input);
        await stack.WaitUntilClosedAsync(first.ExecutionArn);

        var again = await client.StartOrFindExecutionAsync(tradeNo, input);
        var raw = await Assert.ThrowsAsync<StepFunctionsException>(() =>
            client.StartExecutionAsync(new StartExecutionRequest(LocalStepFunctionsServer.PaymentTimeoutArn, tradeNo, input)));

        Assert.False(first.AlreadyScheduled);
        Assert.True(again.AlreadyScheduled);
        Assert.Equal(first.ExecutionArn, again.ExecutionArn);
        Assert.Equal(StepFunctionsErrorCodes.ExecutionAlreadyExists, raw.ErrorCode);
        Assert.Single(stack.Timeouts.CallsFor(tradeNo));
    }

    [Fact]
    public async Task DescribingAnUnknownExecutionIsExecutionDoesNotExist()
    {
        var arn = StepFunctionsClient.ExecutionArnOf(LocalStepFunctionsServer.PaymentTimeoutArn, "NOSUCHPAYMENT");
        var e = await Assert.ThrowsAsync<StepFunctionsException>(() => client.DescribeExecutionAsync(arn));
        Assert.Equal(StepFunctionsErrorCodes.ExecutionDoesNotExist, e.ErrorCode);

        var bad = await Assert.ThrowsAsync<StepFunctionsException>(() => client.DescribeExecutionAsync("not-an-arn"));
        Assert.Equal(StepFunctionsErrorCodes.InvalidArn, bad.ErrorCode);
    }

    [Fact]
    public async Task ListDescribeAndHistoryHaveTheAwsShapes()
    {
        var tradeNo = NewTradeNo("SHAPE");
        var (gate, answer) = HeldAnswer(new { outcome = "expired" });
        stack.Timeouts.Answer(tradeNo, answer);
        var started = await client.StartOrFindExecutionAsync(tradeNo, InputFor(tradeNo, TimeSpan.FromSeconds(3)));

        ListExecutionsResponse running;
        try
        {
            running = await client.ListExecutionsAsync(new ListExecutionsRequest(LocalStepFunctionsServer.PaymentTimeoutArn, ExecutionStatus.Running));
        }
        finally
        {
            gate.Set();
        }
        var item = Assert.Single(running.Executions, e => e.Name == tradeNo);
        Assert.Equal(started.ExecutionArn, item.ExecutionArn);
        Assert.Equal(LocalStepFunctionsServer.PaymentTimeoutArn, item.StateMachineArn);
        Assert.Null(item.StopDate);
        Assert.InRange(item.StartDate, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));

        var done = await stack.WaitUntilClosedAsync(started.ExecutionArn);
        Assert.Equal(tradeNo, done.Name);
        Assert.NotNull(done.StopDate);
        Assert.True(done.StopDate >= done.StartDate.AddSeconds(0.9));
        Assert.Contains(tradeNo, done.Input);

        var succeeded = await client.ListAllExecutionsAsync(LocalStepFunctionsServer.PaymentTimeoutArn, ExecutionStatus.Succeeded).ToListAsync();
        Assert.Contains(succeeded, e => e.Name == tradeNo);
        var stillRunning = await client.ListExecutionsAsync(new ListExecutionsRequest(LocalStepFunctionsServer.PaymentTimeoutArn, ExecutionStatus.Running));
        Assert.DoesNotContain(stillRunning.Executions, e => e.Name == tradeNo);

        var history = await client.GetFullExecutionHistoryAsync(started.ExecutionArn);
        Assert.Equal(
            ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
             "LambdaFunctionSucceeded", "TaskStateExited", "ChoiceStateEntered", "ChoiceStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"],
            history.Select(e => e.Type));
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e.Id));
        Assert.All(history, e => Assert.Equal(e.Id - 1, e.PreviousEventId));
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp));
        Assert.Contains(tradeNo, history[0].ExecutionStartedEventDetails!.Input);
        Assert.EndsWith(":function:ReconcileFunctionArn", history[4].LambdaFunctionScheduledEventDetails!.Resource);
        Assert.Equal("{\"outcome\":\"expired\"}", history[6].LambdaFunctionSucceededEventDetails!.Output);
        Assert.Equal("Expired", history[10].StateName);

        var newestFirst = await client.GetExecutionHistoryAsync(new GetExecutionHistoryRequest(started.ExecutionArn, MaxResults: 5, ReverseOrder: true, IncludeExecutionData: false));
        Assert.Equal(5, newestFirst.Events.Count);
        Assert.NotNull(newestFirst.NextToken);
        Assert.Equal("ExecutionSucceeded", newestFirst.Events[0].Type);
        Assert.Null(newestFirst.Events[0].ExecutionSucceededEventDetails?.Output);
    }

    [Fact]
    public async Task RequestsAreSignedJson10CallsThatVerify()
    {
        // A loopback endpoint that records the raw request, so the signature can be checked end to end.
        var port = FreePort.Next();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var captured = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.AllKeys.ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/x-amz-json-1.0";
            context.Response.OutputStream.Write("{\"__type\":\"com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist\",\"message\":\"nope\"}"u8);
            context.Response.Close();
            return (Body: body, Headers: headers, Method: context.Request.HttpMethod);
        });
        var signed = new StepFunctionsClient(stack.Http, new StepFunctionsClientOptions
        {
            ServiceUrl = new Uri($"http://127.0.0.1:{port}/"),
            Region = "ap-northeast-1",
            Credentials = new Amazon.Runtime.SessionAWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token-1"),
        });

        var error = await Assert.ThrowsAsync<StepFunctionsException>(() => signed.DescribeExecutionAsync("arn:aws:states:ap-northeast-1:123456789012:execution:payment-timeout:X"));
        var request = await captured;

        Assert.Equal(StepFunctionsErrorCodes.ExecutionDoesNotExist, error.ErrorCode);
        Assert.Equal("POST", request.Method);
        Assert.Equal("{\"executionArn\":\"arn:aws:states:ap-northeast-1:123456789012:execution:payment-timeout:X\"}", request.Body);
        Assert.Equal("AWSStepFunctions.DescribeExecution", request.Headers["X-Amz-Target"]);
        Assert.Equal("application/x-amz-json-1.0", request.Headers["Content-Type"]);
        Assert.Equal("token-1", request.Headers["X-Amz-Security-Token"]);
        var amzDate = request.Headers["X-Amz-Date"];
        var at = DateTimeOffset.ParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(request.Body))), request.Headers["X-Amz-Content-SHA256"]);
        // What reaches the wire verifies under an independent SigV4 implementation.
        var expected = ReferenceSigV4.Sign("POST", new Uri($"http://127.0.0.1:{port}/"),
            [
                new("content-type", request.Headers["Content-Type"]),
                new("x-amz-target", request.Headers["X-Amz-Target"]),
                new("x-amz-content-sha256", request.Headers["X-Amz-Content-SHA256"]),
            ],
            Encoding.UTF8.GetBytes(request.Body),
            new SigV4Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token-1"),
            "ap-northeast-1", "states", at);
        Assert.Equal(expected.Authorization, request.Headers["Authorization"]);
        Assert.Contains($"/{amzDate[..8]}/ap-northeast-1/states/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target,", request.Headers["Authorization"]);
    }

    [Fact]
    public void ExecutionArnOfFollowsTheAwsArnLayout() =>
        Assert.Equal(
            "arn:aws:states:ap-northeast-1:123456789012:execution:payment-timeout:EC123",
            StepFunctionsClient.ExecutionArnOf("arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout", "EC123"));

    [Fact]
    public void PaymentTimeoutInputWritesAnRfc3339UtcExpiry()
    {
        var input = new PaymentTimeoutInput(5, "EC5", new DateTimeOffset(2025, 1, 2, 11, 4, 5, 678, TimeSpan.FromHours(8)));
        Assert.Equal("{\"transactionId\":5,\"merchantTradeNo\":\"EC5\",\"expiresAt\":\"2025-01-02T03:04:05.678Z\"}", input.ToJson());
        var answer = System.Text.Json.JsonSerializer.Deserialize("{\"outcome\":\"extend\",\"expiresAt\":\"2025-01-05T00:00:00Z\"}", PaymentTimeoutJsonContext.Default.ReconcileAnswer)!;
        Assert.Equal(new DateTimeOffset(2025, 1, 5, 0, 0, 0, TimeSpan.Zero), answer.ExpiresAt);
        Assert.Null(System.Text.Json.JsonSerializer.Deserialize("{\"outcome\":\"paid\"}", PaymentTimeoutJsonContext.Default.ReconcileAnswer)!.ExpiresAt);
    }
}
