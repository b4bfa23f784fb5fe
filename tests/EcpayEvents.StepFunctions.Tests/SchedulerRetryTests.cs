using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Testing;
using Microsoft.Extensions.Logging;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.StepFunctions.Tests;

/// <summary>
/// StepFunctionsTimeoutScheduler's retry policy, against a stub Step Functions endpoint (an
/// HttpMessageHandler) that fails on cue: transient failures are retried and end in exactly one
/// execution; anything else fails at once; a timeout whose StartExecution did reach the service counts
/// as scheduled on the retry.
/// </summary>
public sealed class SchedulerRetryTests
{
    private const string StateMachineArn = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout";
    private static readonly PaymentTimeoutInput Timeout = new(42, "EE0MWVO2NL1CBSNIOD5Z", new DateTimeOffset(2026, 11, 25, 6, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// StartExecution as Step Functions answers it (same name and input while running: the same execution;
    /// another input: ExecutionAlreadyExists), unless the script for that attempt says otherwise.
    /// </summary>
    private sealed class StubStepFunctions(params Func<StubStepFunctions, CancellationToken, Task<HttpResponseMessage>?>[] script) : HttpMessageHandler
    {
        public ConcurrentDictionary<string, string> Executions { get; } = new(); // name → input
        public List<string> Targets { get; } = [];
        public int Attempts => Targets.Count;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Targets.Add(request.Headers.GetValues("X-Amz-Target").Single());
            var attempt = Targets.Count;
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var scripted = attempt <= script.Length ? script[attempt - 1](this, cancellationToken) : null;
            return scripted is null ? Start(body) : await scripted;
        }

        /// <summary>What the service does with a StartExecution that reaches it.</summary>
        public HttpResponseMessage Start(string body)
        {
            using var doc = JsonDocument.Parse(body);
            var name = doc.RootElement.GetProperty("name").GetString()!;
            var input = doc.RootElement.GetProperty("input").GetString()!;
            var existing = Executions.GetOrAdd(name, input);
            if (existing != input)
                return Error(HttpStatusCode.BadRequest, "ExecutionAlreadyExists", $"Execution Already Exists: '{Arn(name)}'");
            return Json(HttpStatusCode.OK, $"{{\"executionArn\":\"{Arn(name)}\",\"startDate\":1764050400.123}}");
        }

        public static string Arn(string name) => StepFunctionsClient.ExecutionArnOf(StateMachineArn, name);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/x-amz-json-1.0") };

    private static HttpResponseMessage Error(HttpStatusCode status, string type, string message) =>
        Json(status, $"{{\"__type\":\"com.amazonaws.swf.service.v2.model#{type}\",\"message\":\"{message}\"}}");

    private static Task<HttpResponseMessage>? Answer(HttpResponseMessage response) => Task.FromResult(response);

    private static (StepFunctionsTimeoutScheduler Scheduler, LogCapture Log) SchedulerFor(StubStepFunctions stub, TimeSpan? httpTimeout = null)
    {
        var http = new HttpClient(stub) { Timeout = httpTimeout ?? TimeSpan.FromSeconds(10) };
        var client = new StepFunctionsClient(http, new StepFunctionsClientOptions
        {
            ServiceUrl = new Uri("http://127.0.0.1:1/"),
            Region = "ap-northeast-1",
            Credentials = new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
            StateMachineArn = StateMachineArn,
        });
        var log = new LogCapture();
        return (new StepFunctionsTimeoutScheduler(client, log.LoggerFor<StepFunctionsTimeoutScheduler>()) { RetryDelay = TimeSpan.FromMilliseconds(1) }, log);
    }

    public static TheoryData<string, int, string> TransientFailures => new()
    {
        { "ThrottlingException", 400, "Rate exceeded" },
        { "InternalServerError", 500, "internal" },
        { "ServiceUnavailable", 503, "try again" },
    };

    [Theory]
    [MemberData(nameof(TransientFailures))]
    public async Task ThrottlingAndServerErrorsAreRetriedIntoOneExecution(string type, int status, string message)
    {
        var stub = new StubStepFunctions(
            (_, _) => Answer(Error((HttpStatusCode)status, type, message)),
            (_, _) => Answer(Error((HttpStatusCode)status, type, message)));
        var (scheduler, log) = SchedulerFor(stub);

        await scheduler.ScheduleAsync(Timeout, CancellationToken.None);

        Assert.Equal(StepFunctionsTimeoutScheduler.MaxAttempts, stub.Attempts);
        Assert.All(stub.Targets, t => Assert.Equal("AWSStepFunctions.StartExecution", t));
        Assert.Equal([Timeout.MerchantTradeNo], stub.Executions.Keys);
        Assert.Equal(2, log.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("retrying", StringComparison.Ordinal)));
        Assert.Contains(log.Entries, e => e.Message.Contains("scheduled: " + StubStepFunctions.Arn(Timeout.MerchantTradeNo), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConnectionFailureIsRetried()
    {
        var stub = new StubStepFunctions((_, _) => Task.FromException<HttpResponseMessage>(new HttpRequestException("Connection refused")));
        var (scheduler, _) = SchedulerFor(stub);

        await scheduler.ScheduleAsync(Timeout, CancellationToken.None);

        Assert.Equal(2, stub.Attempts);
        Assert.Single(stub.Executions);
    }

    [Theory]
    [InlineData("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint")]
    [InlineData("StateMachineDoesNotExist", "State Machine Does Not Exist")]
    [InlineData("InvalidExecutionInput", "Invalid State Machine Execution Input")]
    [InlineData("AccessDeniedException", "not authorized to perform: states:StartExecution")]
    public async Task AnErrorThatWouldRepeatIsNotRetried(string type, string message)
    {
        var stub = new StubStepFunctions((_, _) => Answer(Error(HttpStatusCode.BadRequest, type, message)));
        var (scheduler, log) = SchedulerFor(stub);

        var e = await Assert.ThrowsAsync<StepFunctionsException>(() => scheduler.ScheduleAsync(Timeout, CancellationToken.None));

        Assert.Equal(type, e.ErrorCode);
        Assert.Equal(1, stub.Attempts);
        Assert.Empty(stub.Executions);
        Assert.DoesNotContain(log.Entries, l => l.Message.Contains("retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TransientFailuresGiveUpAfterMaxAttempts()
    {
        var stub = new StubStepFunctions(Enumerable.Repeat<Func<StubStepFunctions, CancellationToken, Task<HttpResponseMessage>?>>(
            (_, _) => Answer(Error(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "down")), 10).ToArray());
        var (scheduler, _) = SchedulerFor(stub);

        var e = await Assert.ThrowsAsync<StepFunctionsException>(() => scheduler.ScheduleAsync(Timeout, CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Equal(StepFunctionsTimeoutScheduler.MaxAttempts, stub.Attempts);
    }

    /// <summary>The first StartExecution starts the execution, but its answer comes after HttpClient gave up.</summary>
    private static Func<StubStepFunctions, CancellationToken, Task<HttpResponseMessage>?> StartedButTooLate() => Slow;

    private static async Task<HttpResponseMessage> Slow(StubStepFunctions stub, CancellationToken ct)
    {
        stub.Start(JsonSerializer.Serialize(new { name = Timeout.MerchantTradeNo, input = Timeout.ToJson() }));
        await Task.Delay(TimeSpan.FromSeconds(30), ct); // HttpClient.Timeout cancels it first
        return Json(HttpStatusCode.OK, "{}");
    }

    [Fact]
    public async Task ATimeoutAfterTheServiceStartedTheExecutionGetsTheSameExecutionOnRetry()
    {
        // Same name, same input, still running: StartExecution answers the existing execution (idempotent).
        var stub = new StubStepFunctions(StartedButTooLate());
        var (scheduler, log) = SchedulerFor(stub, httpTimeout: TimeSpan.FromMilliseconds(300));

        await scheduler.ScheduleAsync(Timeout, CancellationToken.None);

        Assert.Equal(2, stub.Attempts);
        Assert.Equal([Timeout.MerchantTradeNo], stub.Executions.Keys);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("retrying", StringComparison.Ordinal));
        Assert.Contains(log.Entries, e => e.Message.Contains("scheduled: " + StubStepFunctions.Arn(Timeout.MerchantTradeNo), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATimeoutAfterTheServiceStartedTheExecutionIsAlreadyScheduledWhenTheRetryIsExecutionAlreadyExists()
    {
        // E.g. the execution already closed, or the service compares the input differently: the name is taken.
        var stub = new StubStepFunctions(
            StartedButTooLate(),
            (_, _) => Answer(Error(HttpStatusCode.BadRequest, "ExecutionAlreadyExists", "Execution Already Exists")));
        var (scheduler, log) = SchedulerFor(stub, httpTimeout: TimeSpan.FromMilliseconds(300));

        await scheduler.ScheduleAsync(Timeout, CancellationToken.None);

        Assert.Equal(2, stub.Attempts);
        Assert.Single(stub.Executions);
        Assert.Contains(log.Entries, e => e.Message.Contains("was already scheduled: " + StubStepFunctions.Arn(Timeout.MerchantTradeNo), StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheCallersCancellationIsNotRetried()
    {
        using var cts = new CancellationTokenSource();
        var stub = new StubStepFunctions((_, _) =>
        {
            cts.Cancel();
            return Task.FromCanceled<HttpResponseMessage>(cts.Token);
        });
        var (scheduler, _) = SchedulerFor(stub);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scheduler.ScheduleAsync(Timeout, cts.Token));

        Assert.Equal(1, stub.Attempts);
    }
}
