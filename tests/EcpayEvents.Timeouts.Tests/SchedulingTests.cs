using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.PaymentsApi;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// Scheduling a payment's timeout from PaymentsApi (StepFunctionsTimeoutScheduler, registered by
/// AddPaymentTimeouts when StepFunctions:StateMachineArn is set) and the failure policy: no pending
/// payment without a timer.
/// </summary>
public sealed class SchedulingTests(TimeoutStack stack) : IClassFixture<TimeoutStack>, IAsyncLifetime
{
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await stack.Database.AssertLedgerInvariantAsync();

    private async Task<(WebApplication App, HttpClient Http)> StartPaymentsApiAsync(Uri stepFunctions)
    {
        var app = PaymentsApiApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--Database:ConnectionString={stack.Database.ConnectionString}",
            $"--Ecpay:MerchantId={EcpayCredentials.Stage.MerchantId}",
            $"--Ecpay:HashKey={EcpayCredentials.Stage.HashKey}",
            $"--Ecpay:HashIv={EcpayCredentials.Stage.HashIv}",
            "--Ecpay:ReturnUrl=http://127.0.0.1:1/ecpay/return",
            "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:1",
            "--PaymentsApi:Deposit:Expiry:Online=00:00:02",
            $"--StepFunctions:ServiceUrl={stepFunctions}",
            "--StepFunctions:Region=us-east-1",
            $"--StepFunctions:StateMachineArn={LocalStepFunctionsServer.PaymentTimeoutArn}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) });
    }

    [Fact]
    public async Task ADepositFromPaymentsApiStartsItsTimeoutNamedAfterTheMerchantTradeNoAndExpiresUnpaid()
    {
        var (app, http) = await StartPaymentsApiAsync(stack.StepFunctions.Endpoint);
        await using var _ = app;
        var userId = await stack.CreateUserAsync();

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

        var ok = await EcpayEvents.Cli.Commands.DemoExpiry.RunAsync(http.BaseAddress!, stack.Client, LocalStepFunctionsServer.PaymentTimeoutArn, output, TimeSpan.FromSeconds(30));

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
        var userId = await stack.CreateUserAsync();

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
