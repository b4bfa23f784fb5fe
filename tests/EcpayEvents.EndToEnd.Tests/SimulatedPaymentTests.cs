using EcpayEvents.Testing;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;

namespace EcpayEvents.EndToEnd.Tests;

/// <summary>
/// ECPay's back-office "simulate payment" (SimulatePaid=1) through the real chain: the sandbox posts
/// ReturnURL with RtnCode 1 and SimulatePaid=1 → Notifications → SQS → runner → Settlement, which
/// records it (outcome simulated) and credits nobody.
/// </summary>
public sealed class SimulatedPaymentTests
{
    [Fact]
    public async Task ASimulatedPaymentIsRecordedButNeverCredited()
    {
        await using var stack = await LocalStack.StartAsync();
        using var http = new HttpClient { BaseAddress = stack.PaymentsApi };
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        http.DefaultRequestHeaders.Authorization = new("Bearer", (await stack.Cognito.CreateUserAsync("simulated")).AccessToken);

        var user = await (await http.PostAsJsonAsync("/users", new { username = "simulated", email = "simulated@example.com" })).Content.ReadFromJsonAsync<JsonElement>();
        var userId = user.GetProperty("id").GetInt64();
        var deposit = await (await http.PostAsJsonAsync($"/users/{userId}/deposits", new { amount = 400, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        var transactionId = deposit.GetProperty("transactionId").GetInt64();
        var tradeNo = deposit.GetProperty("merchantTradeNo").GetString()!;

        // The checkout form, as GET /checkout/{id} gives it to a script, posted to the sandbox.
        var form = await http.GetFromJsonAsync<JsonElement>(new Uri(deposit.GetProperty("checkoutUrl").GetString()!).PathAndQuery);
        var fields = form.GetProperty("fields").EnumerateArray().Select(f => new KeyValuePair<string, string>(f.GetProperty("name").GetString()!, f.GetProperty("value").GetString()!));
        using var sandbox = new HttpClient { BaseAddress = stack.Sandbox };
        sandbox.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        var accepted = await (await sandbox.PostAsync("/Cashier/AioCheckOut/V5", new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(accepted.GetProperty("ok").GetBoolean(), accepted.ToString());

        (await sandbox.PostAsJsonAsync($"/sandbox/orders/{tradeNo}/pay", new { method = "simulate" })).EnsureSuccessStatusCode();

        await Poll.UntilAsync(async () => await stack.Db.ScalarAsync<long>(
                "SELECT COUNT(*) FROM payment_events WHERE transaction_id = @id AND outcome = 'simulated'", ("@id", transactionId)) > 0,
            "Settlement to record the simulated result", TimeSpan.FromSeconds(45), () => "runner log:\n" + stack.RunnerLog);

        var order = await sandbox.GetFromJsonAsync<JsonElement>($"/sandbox/orders/{tradeNo}");
        Assert.True(order.GetProperty("deliveries")[0].GetProperty("acknowledged").GetBoolean());
        Assert.Equal("pending", (await http.GetFromJsonAsync<JsonElement>($"/transactions/{transactionId}")).GetProperty("status").GetString());
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>($"/users/{userId}")).GetProperty("balance").GetInt64());
        Assert.Equal(0, await stack.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries WHERE user_id = @u", ("@u", userId)));
        await stack.Db.AssertLedgerInvariantAsync();
    }
}
