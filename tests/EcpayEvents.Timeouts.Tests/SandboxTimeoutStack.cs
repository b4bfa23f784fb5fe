using System.Net.Http.Json;
using System.Text;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Sandbox;
using Microsoft.AspNetCore.Builder;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>
/// The timeout path of <see cref="TimeoutStack"/> with the ECPay sandbox as ECPay (its QueryTradeInfo, checkout and
/// posts to Notifications), compressed: a BNPL payment is reported up to 6 s late, and a second Timeouts instance
/// shares the database (ECPay's 403 block must reach it).
/// </summary>
public sealed class SandboxTimeoutStack : TimeoutStack
{
    public static readonly TimeSpan BnplLag = TimeSpan.FromSeconds(6);

    private WebApplication sandbox = null!;

    public HttpClient Sandbox { get; private set; } = null!;
    /// <summary>Another Timeouts instance on the same database (another Lambda instance).</summary>
    public Uri SecondTimeouts { get; private set; } = null!;

    protected override async Task<Uri> StartEcpayAsync()
    {
        sandbox = SandboxApp.Build(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--Sandbox:RetryInterval=00:00:00.500"]);
        await sandbox.StartAsync();
        Sandbox = new HttpClient { BaseAddress = sandbox.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) };
        return sandbox.BoundAddress();
    }

    protected override IEnumerable<string> MoreTimeoutsArgs =>
        [$"--Reconcile:ReportingLagBnpl={BnplLag}", "--Ecpay:Query:ThrottleCoolDownMinutes=1"];

    protected override async Task AfterStartAsync(string[] timeoutsArgs) => SecondTimeouts = await StartAsync(TimeoutsApp.Build(timeoutsArgs));

    /// <summary>The deposit's checkout form, built by the product's CheckoutForm, posted to the sandbox (ECPay now knows the order).</summary>
    /// <param name="returnUrl">Where ECPay posts the result; by default Notifications (a dead address loses every post).</param>
    public async Task CheckoutAsync(Deposit deposit, string method, string? returnUrl = null)
    {
        var request = new CheckoutRequest
        {
            MerchantTradeNo = deposit.MerchantTradeNo, TotalAmount = deposit.Amount, TradeDesc = "Deposit", ItemName = "Deposit",
            ChoosePayment = method, ReturnUrl = returnUrl ?? new Uri(Notifications, "/ecpay/return").ToString(), PaymentInfoUrl = new Uri(Notifications, "/ecpay/payment-info").ToString(),
        };
        var form = CheckoutForm.Create(request, Credentials, EcpayUrls.FromBaseUrl(Sandbox.BaseAddress!.ToString()));
        using var post = new HttpRequestMessage(HttpMethod.Post, "/Cashier/AioCheckOut/V5")
        {
            Content = new StringContent(EcpayForm.ToFormBody(form.Fields), Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        post.Headers.Accept.ParseAdd("application/json");
        var answer = await (await Sandbox.SendAsync(post)).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        if (!answer.GetProperty("ok").GetBoolean()) throw new InvalidOperationException($"the sandbox refused the checkout: {answer}");
    }

    /// <summary>The customer's action in the sandbox (card, bnpl, paid, …).</summary>
    public async Task ActAsync(Deposit deposit, string method) =>
        (await Sandbox.PostAsJsonAsync($"/sandbox/orders/{deposit.MerchantTradeNo}/pay", new { method })).EnsureSuccessStatusCode();

    /// <summary>One order's behaviour in the sandbox (may be set before ECPay sees the order).</summary>
    public async Task BehaveAsync(string merchantTradeNo, object behaviour) =>
        (await Sandbox.PostAsJsonAsync($"/sandbox/orders/{merchantTradeNo}/behaviour", behaviour)).EnsureSuccessStatusCode();

    public async Task<int> QueriesAsync(string merchantTradeNo) =>
        await Sandbox.GetFromJsonAsync<int>($"/sandbox/orders/{merchantTradeNo}/queries");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Sandbox?.Dispose();
        if (sandbox is not null)
        {
            await sandbox.StopAsync();
            await sandbox.DisposeAsync();
        }
    }
}
