using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Testing;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Sandbox.Tests;

/// <summary>The sandbox on Kestrel, plus a merchant that records ECPay's posts and answers as told.</summary>
public sealed class SandboxHost : IAsyncDisposable
{
    private SandboxHost(WebApplication sandbox, WebApplication merchant)
    {
        Sandbox = sandbox;
        Merchant = merchant;
        Client = new HttpClient { BaseAddress = sandbox.BoundAddress() };
    }

    public WebApplication Sandbox { get; }
    public WebApplication Merchant { get; }
    public HttpClient Client { get; }
    public ConcurrentQueue<(string Path, EcpayForm Form)> Received { get; } = new();
    /// <summary>Answers the merchant gives, in order; then 1|OK.</summary>
    public ConcurrentQueue<string> Answers { get; } = new();
    /// <summary>Posts the merchant received whose fields are not what ECPay sends (<see cref="EcpayPostFields"/>); checked at dispose.</summary>
    public ConcurrentQueue<string> NotAsEcpaySendsIt { get; } = new();
    public string MerchantUrl => Merchant.BoundAddress().ToString().TrimEnd('/');

    public static Task<SandboxHost> StartAsync(params string[] extraArgs) => StartAsync(null, extraArgs);

    /// <param name="services">Replaces sandbox services (e.g. its TimeProvider, to move past an ExpireDate).</param>
    public static async Task<SandboxHost> StartAsync(Action<IServiceCollection>? services, params string[] extraArgs)
    {
        var merchantBuilder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
        merchantBuilder.Logging.ClearProviders();
        var merchant = merchantBuilder.Build();
        SandboxHost? host = null;
        async Task<IResult> Receive(HttpRequest request)
        {
            var body = await new StreamReader(request.Body).ReadToEndAsync();
            var form = EcpayForm.Parse(body);
            // The sandbox must send exactly what ECPay sends, or our services' allowlist would refuse it.
            var kind = request.Path == "/return" ? EcpayPostKind.ReturnUrl : request.Path == "/payment-info" ? EcpayPostKind.PaymentInfoUrl : EcpayPostKind.OrderResultUrl;
            if (EcpayPostFields.Problem(kind, form) is { } problem) host!.NotAsEcpaySendsIt.Enqueue($"{request.Path}: {problem}");
            host!.Received.Enqueue((request.Path, form));
            return TypedResults.Text(host.Answers.TryDequeue(out var a) ? a : "1|OK", "text/plain");
        }
        merchant.MapPost("/return", Receive);
        merchant.MapPost("/payment-info", Receive);
        merchant.MapPost("/order-result", Receive);
        await merchant.StartAsync();

        var sandbox = SandboxApp.Build(["--urls=http://127.0.0.1:0", "--Sandbox:RetryInterval=00:00:00.200", "--Sandbox:MaxAttempts=4", "--Logging:LogLevel:Default=Warning", .. extraArgs], services);
        await sandbox.StartAsync();
        host = new SandboxHost(sandbox, merchant);
        return host;
    }

    /// <summary>
    /// Our checkout form, built by the code GET /checkout/{id} runs (<see cref="StartCheckout.Request"/>
    /// and <see cref="CheckoutForm.Create"/>) for a pending deposit with these values — not a copy of it.
    /// </summary>
    public CheckoutForm Form(string method = ChoosePayment.Credit, long amount = 500, string? tradeNo = null, DateTimeOffset? created = null,
        DepositExpiryOptions? expiry = null)
    {
        var createdAt = created ?? DateTimeOffset.UtcNow;
        var options = expiry ?? new DepositExpiryOptions();
        var deposit = new Payments.Transactions.TransactionView(
            Id: 42, UserId: 1, Type: "deposit", Amount: amount, Status: "pending",
            MerchantTradeNo: tradeNo ?? MerchantTradeNumber.New("TS", createdAt), PaymentMethod: method, ItemName: null, PaymentType: null,
            PaymentInstructions: null, ExpiresAt: DepositExpiry.For(method, createdAt, options).ExpiresAt, PaidAt: null,
            CreatedAt: createdAt, UpdatedAt: createdAt);
        var settings = new CheckoutSettings(EcpayCredentials.Stage, EcpayUrls.FromBaseUrl(Client.BaseAddress!.ToString()),
            ReturnUrl: MerchantUrl + "/return", PaymentInfoUrl: MerchantUrl + "/payment-info",
            OrderResultUrl: MerchantUrl + "/order-result", ClientBackUrl: MerchantUrl + "/");
        return CheckoutForm.Create(StartCheckout.Request(deposit, settings, options), EcpayCredentials.Stage, settings.Endpoints);
    }

    public Task<HttpResponseMessage> PostCheckoutAsync(IEnumerable<KeyValuePair<string, string>> fields) =>
        Client.PostAsync("/Cashier/AioCheckOut/V5", new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"));

    public static List<KeyValuePair<string, string>> Resign(IEnumerable<KeyValuePair<string, string>> fields, string key, string value)
    {
        var list = fields.Where(f => f.Key != "CheckMacValue").Select(f => f.Key == key ? new KeyValuePair<string, string>(key, value) : f).ToList();
        list = SignedEcpayPost.Sign(list);
        return list;
    }

    public static string ErrorCode(string html)
    {
        var marker = "data-error-code=\"";
        var i = html.IndexOf(marker, StringComparison.Ordinal);
        return i < 0 ? "" : html[(i + marker.Length)..html.IndexOf('"', i + marker.Length)];
    }

    public async Task<List<(string Path, EcpayForm Form)>> WaitForPostsAsync(int count, TimeSpan? timeout = null)
    {
        await Poll.UntilAsync(() => Received.Count >= count, $"{count} posts", timeout, () => $"got {Received.Count}");
        return Received.ToList();
    }

    /// <summary>
    /// Polls the sandbox's view of an order (GET /sandbox/orders/{tradeNo}) until <paramref name="until"/> holds, and
    /// returns it: a positive signal (e.g. a delivery acknowledged or given up) instead of a fixed sleep.
    /// </summary>
    public Task<System.Text.Json.JsonElement> WaitForOrderAsync(string tradeNo, Func<System.Text.Json.JsonElement, bool> until, string what, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(Client, $"/sandbox/orders/{tradeNo}"),
            until, $"order {tradeNo}: {what}", timeout, order => order.ToString());

    /// <summary>A clock the test moves (the sandbox reads "now" only through TimeProvider).</summary>
    public sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    public static string Stamp() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Sandbox.StopAsync();
        await Sandbox.DisposeAsync();
        await Merchant.StopAsync();
        await Merchant.DisposeAsync();
        Assert.Empty(NotAsEcpaySendsIt);
    }
}
