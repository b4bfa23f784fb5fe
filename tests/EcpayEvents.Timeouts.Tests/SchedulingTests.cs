using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.PaymentsApi;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// Scheduling a payment's timeout from PaymentsApi (StepFunctionsTimeoutScheduler, registered by
/// AddPaymentTimeouts when StepFunctions:StateMachineArn is set) and the failure policy: no pending
/// payment without a timer — not even by a forgotten setting: without a state machine PaymentsApi does not
/// start, unless StepFunctions:Disabled=true says so (development and tests only).
/// </summary>
public sealed class SchedulingTests(TimeoutStack stack) : IClassFixture<TimeoutStack>, IAsyncLifetime
{
    private LocalCognito cognito = null!;

    public async ValueTask InitializeAsync() => cognito = await LocalCognito.SharedAsync();

    /// <summary>A user of the stack's database bound to a new signed-in identity, whose token <paramref name="http"/> then carries.</summary>
    private async Task<long> OwnedUserAsync(HttpClient http)
    {
        var userId = await stack.CreateUserAsync();
        var identity = await cognito.CreateUserAsync("timeouts");
        await stack.Database.ExecuteAsync("UPDATE users SET sub = @s WHERE id = @u", ("@s", identity.Sub), ("@u", userId));
        http.DefaultRequestHeaders.Authorization = new("Bearer", identity.AccessToken);
        return userId;
    }

    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    private string[] PaymentsApiArgs(params string[] stepFunctions) =>
    [
        "--urls=http://127.0.0.1:0",
        $"--Database:ConnectionString={stack.Database.ConnectionString}",
        $"--Ecpay:MerchantId={EcpayCredentials.Stage.MerchantId}",
        $"--Ecpay:HashKey={EcpayCredentials.Stage.HashKey}",
        $"--Ecpay:HashIv={EcpayCredentials.Stage.HashIv}",
        "--Ecpay:ReturnUrl=http://127.0.0.1:1/ecpay/return",
        "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:1",
        "--PaymentsApi:LinkSigningKey=dGVzdC1vbmx5LWxpbmstc2lnbmluZy1rZXktMzJieXQ=",
        .. cognito.PaymentsApiArgs,
        "--PaymentsApi:Deposit:Expiry:Online=00:00:02",
        "--Logging:LogLevel:Default=Warning",
        .. stepFunctions,
    ];

    private async Task<(WebApplication App, HttpClient Http)> StartPaymentsApiAsync(Uri stepFunctions)
    {
        var app = PaymentsApiApp.Build(PaymentsApiArgs(
            $"--StepFunctions:ServiceUrl={stepFunctions}",
            "--StepFunctions:Region=us-east-1",
            $"--StepFunctions:StateMachineArn={LocalStepFunctionsServer.PaymentTimeoutArn}"));
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) });
    }

    [Fact]
    public async Task WithoutAStateMachinePaymentsApiDoesNotStart()
    {
        await using var app = PaymentsApiApp.Build(PaymentsApiArgs());

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("StepFunctions:StateMachineArn is required", e.Message);
        Assert.Contains("StepFunctions:Disabled=true in development and tests only", e.Message);
    }

    [Fact]
    public async Task DisabledSchedulingStartsWithAWarningAndTheDepositHasNoExecution()
    {
        var logs = new LogCapture();
        await using var app = PaymentsApiApp.Build(PaymentsApiArgs("--StepFunctions:Disabled=true"),
            logs.AddTo);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) };
        var userId = await OwnedUserAsync(http);

        using var response = await http.PostAsJsonAsync($"/users/{userId}/deposits", new { amount = 100, paymentMethod = "Credit" });

        Assert.Contains(logs.Entries, l => l.Level == LogLevel.Warning && l.Message.StartsWith("StepFunctions:Disabled=true: deposits get NO payment timeout", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var merchantTradeNo = body.RootElement.GetProperty("merchantTradeNo").GetString()!;
        var missing = await Assert.ThrowsAsync<StepFunctionsException>(() =>
            stack.Client.DescribeExecutionAsync(StepFunctionsClient.ExecutionArnOf(LocalStepFunctionsServer.PaymentTimeoutArn, merchantTradeNo)));
        Assert.Equal(StepFunctionsErrorCodes.ExecutionDoesNotExist, missing.ErrorCode);
        await stack.Database.ExecuteAsync("DELETE FROM transactions WHERE merchant_trade_no = @m", ("@m", merchantTradeNo)); // no orphan left for other tests
    }

    [Fact]
    public async Task AStoppedTimerIsRearmedByTheCliAndTheRealReconcileExpiresThePayment()
    {
        var deposit = await stack.CreateDepositAsync(100, TimeSpan.FromMinutes(10));
        // The deposit's own execution, stopped by an operator before it fired: the payment stays pending,
        // and by the time of the rearm it is past its expiry, so the new timer fires at once.
        await stack.Client.StopExecutionAsync(stack.ExecutionArn(deposit), "Operator.Stopped", "test");
        await stack.Database.ExecuteAsync("UPDATE transactions SET expires_at = @e WHERE id = @id", ("@e", DateTime.UtcNow.AddMinutes(-1)), ("@id", deposit.Id));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string?>
        {
            ["DATABASE_CONNECTION_STRING"] = stack.Database.ConnectionString,
            ["STEPFUNCTIONS_ENDPOINT"] = stack.StepFunctions.Endpoint.ToString(),
        };

        var exitCode = await EcpayEvents.Cli.Commands.TimeoutsCommand.RunAsync(["rearm", deposit.MerchantTradeNo], stdout, stderr, n => env.GetValueOrDefault(n), stack.Http);

        Assert.True(exitCode == 0, stderr.ToString());
        Assert.Contains($"rearmed as {deposit.MerchantTradeNo}-r1 (transaction {deposit.Id})", stdout.ToString());
        var rearmed = StepFunctionsClient.ExecutionArnOf(LocalStepFunctionsServer.PaymentTimeoutArn, deposit.MerchantTradeNo + "-r1");
        var done = await Poll.UntilAsync(() => stack.Client.DescribeExecutionAsync(rearmed), e => e.Status != ExecutionStatus.Running, "the rearmed execution to end");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(done));
        Assert.Equal("expired", (await stack.TransactionAsync(deposit.Id)).Status);
    }

    [Theory]
    [InlineData(null, null, null, "StepFunctions:StateMachineArn is required")]
    [InlineData(null, "false", null, "StepFunctions:StateMachineArn is required")]
    [InlineData("arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout", "true", null, "are both set")]
    [InlineData(null, "yes", null, "StepFunctions:Disabled must be true or false")]
    [InlineData("payment-timeout", null, null, "is not a state machine ARN")]
    [InlineData("arn:aws:states:us-east-1:000000000000:execution:payment-timeout:X", null, null, "is not a state machine ARN")]
    [InlineData("arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout", null, "localhost:4584", "StepFunctions:ServiceUrl 'localhost:4584' is not an absolute http(s) URL")]
    public void TheStepFunctionsSettingsAreValidated(string? arn, string? disabled, string? serviceUrl, string expected)
    {
        var result = new PaymentTimeoutsOptionsValidator().Validate(null, new PaymentTimeoutsOptions { StateMachineArn = arn, Disabled = disabled, ServiceUrl = serviceUrl });
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage);
    }

    [Theory]
    [InlineData("arn:aws:states:ap-northeast-1:123456789012:stateMachine:payment-timeout", null, "https://states.ap-northeast-1.amazonaws.com")]
    [InlineData("arn:aws:states:us-east-1:000000000000:stateMachine:payment-timeout", "false", "http://127.0.0.1:4584")]
    [InlineData(null, "true", null)]
    [InlineData(null, "True", null)]
    public void ValidStepFunctionsSettings(string? arn, string? disabled, string? serviceUrl) =>
        Assert.True(new PaymentTimeoutsOptionsValidator().Validate(null, new PaymentTimeoutsOptions { StateMachineArn = arn, Disabled = disabled, ServiceUrl = serviceUrl }).Succeeded);

    [Fact]
    public async Task ADepositFromPaymentsApiStartsItsTimeoutNamedAfterTheMerchantTradeNoAndExpiresUnpaid()
    {
        var (app, http) = await StartPaymentsApiAsync(stack.StepFunctions.Endpoint);
        await using var _ = app;
        var userId = await OwnedUserAsync(http);

        using var response = await http.PostAsJsonAsync($"/users/{userId}/deposits", new { amount = 100, paymentMethod = "Credit" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var transactionId = body.RootElement.GetProperty("transactionId").GetInt64();
        var merchantTradeNo = body.RootElement.GetProperty("merchantTradeNo").GetString()!;
        var deposit = new Deposit(transactionId, userId, merchantTradeNo, 100, body.RootElement.GetProperty("expiresAt").GetDateTimeOffset());

        var started = await stack.Client.DescribeExecutionAsync(stack.ExecutionArn(deposit));
        Assert.Equal(merchantTradeNo, started.Name);
        using (var input = JsonDocument.Parse(started.Input!))
        {
            Assert.Equal(transactionId, input.RootElement.GetProperty("transactionId").GetInt64());
            Assert.Equal(merchantTradeNo, input.RootElement.GetProperty("merchantTradeNo").GetString());
        }

        // ECPay never saw the order (nobody opened the checkout): it expires.
        var execution = await stack.WaitForExecutionAsync(deposit);
        Assert.Equal(ReconcileOutcome.Expired, TimeoutStack.Outcome(execution));
        Assert.Equal("expired", (await stack.TransactionAsync(transactionId)).Status);
    }

    [Fact]
    public async Task TheDemosExpiryPartShowsAnUnpaidDepositExpireThroughTheStateMachine()
    {
        var (app, http) = await StartPaymentsApiAsync(stack.StepFunctions.Endpoint);
        await using var _ = app;
        var output = new StringWriter();

        http.DefaultRequestHeaders.Authorization = new("Bearer", (await cognito.CreateUserAsync("expiry-demo")).AccessToken);
        var ok = await EcpayEvents.Cli.Commands.DemoExpiry.RunAsync(http.BaseAddress!, stack.Client, LocalStepFunctionsServer.PaymentTimeoutArn, output, TimeSpan.FromSeconds(30), httpClient: http);

        Assert.True(ok, output.ToString());
        var text = output.ToString();
        Assert.Contains("WaitUntilExpiry: waiting until", text);
        Assert.Contains("Reconcile answered {\"outcome\":\"expired\"}", text);
        Assert.Contains("Expired: entered", text);
        Assert.Contains("✔ status expired", text);
    }

    [Fact]
    public async Task WhenStepFunctionsIsDownTheDepositIsRefusedAndNothingIsLeftPending()
    {
        var nobody = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
        var (app, http) = await StartPaymentsApiAsync(nobody);
        await using var _ = app;
        var userId = await OwnedUserAsync(http);

        using var response = await http.PostAsJsonAsync($"/users/{userId}/deposits", new { amount = 100, paymentMethod = "Credit" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0L, await stack.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u", ("@u", userId)));
    }

    [Fact]
    public async Task SchedulingTheSamePaymentAgainIsAlreadyScheduled()
    {
        var deposit = await stack.CreateDepositAsync(100, TimeSpan.FromMinutes(10));
        var input = new PaymentTimeoutInput(deposit.Id, deposit.MerchantTradeNo, deposit.ExpiresAt);

        await stack.Scheduler.ScheduleAsync(input, CancellationToken.None);                                        // same input, running
        await stack.Scheduler.ScheduleAsync(input with { ExpiresAt = input.ExpiresAt.AddHours(1) }, CancellationToken.None); // name taken
        var again = await stack.Client.StartOrFindExecutionAsync(deposit.MerchantTradeNo, input.ToJson());

        var named = new List<ExecutionListItem>();
        await foreach (var e in stack.Client.ListAllExecutionsAsync(LocalStepFunctionsServer.PaymentTimeoutArn))
            if (e.Name == deposit.MerchantTradeNo) named.Add(e);
        Assert.Single(named);
        Assert.Equal(stack.ExecutionArn(deposit), again.ExecutionArn);
        await stack.Client.StopExecutionAsync(again.ExecutionArn, "Test.Done", "not waiting 10 minutes");
    }
}
