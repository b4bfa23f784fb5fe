using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Net.Http.Headers;
using EcpayEvents.Hosting;
using EcpayEvents.PaymentsApi;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// The real PaymentsApi on the stack's database, as a client reaches it: users, deposits and the signed
/// checkout form (the page or JSON) — the signed outputs a client can obtain. No state machine (timers are
/// not what these tests are about). Each user is a person signed in on the local identity provider; the
/// checkout is opened with the signed link a deposit answer carries.
/// </summary>
public sealed class CheckoutApi : IAsyncDisposable
{
    public const string SandboxBaseUrl = "http://127.0.0.1:5999";

    private readonly LocalCognito cognito;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, string> tokensByUser = new();

    private CheckoutApi(WebApplication app, HttpClient http, LocalCognito cognito)
    {
        App = app;
        Http = http;
        this.cognito = cognito;
    }

    public WebApplication App { get; }
    public HttpClient Http { get; }

    public static async Task<CheckoutApi> StartAsync(SettlementStack stack)
    {
        var cognito = await LocalCognito.SharedAsync();
        var app = PaymentsApiApp.Build([
            "--urls=http://127.0.0.1:0",
            $"--Database:ConnectionString={stack.Db.ConnectionString}",
            "--Ecpay:Environment=Sandbox",
            $"--Ecpay:BaseUrl={SandboxBaseUrl}",
            $"--Ecpay:MerchantId={SettlementStack.Credentials.MerchantId}",
            $"--Ecpay:HashKey={SettlementStack.Credentials.HashKey}",
            $"--Ecpay:HashIv={SettlementStack.Credentials.HashIv}",
            $"--Ecpay:ReturnUrl={new Uri(stack.NotificationsUrl, "/ecpay/return")}",
            $"--Ecpay:PaymentInfoUrl={new Uri(stack.NotificationsUrl, "/ecpay/payment-info")}",
            "--PaymentsApi:PublicBaseUrl=http://127.0.0.1:5080",
            $"--PaymentsApi:LinkSigningKey={Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}",
            .. cognito.PaymentsApiArgs,
            // The suites create deposits far faster than a person would.
            "--PaymentsApi:Http:MoneyRequestsPerMinute=1000000",
            "--PaymentsApi:Http:OpenRequestsPerMinute=1000000",
            "--StepFunctions:Disabled=true",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        return new CheckoutApi(app, new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) }, cognito);
    }

    /// <summary>A new person signs up and creates their user; later requests for that user carry their token.</summary>
    public async Task<long> CreateUserAsync()
    {
        var person = await cognito.CreateUserAsync("forger");
        var name = "u" + Guid.NewGuid().ToString("N")[..12];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/users") { Content = JsonContent.Create(new { username = name, email = name + "@example.com" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", person.AccessToken);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        tokensByUser[id] = person.AccessToken;
        return id;
    }

    /// <summary>The server-signed link a deposit answer carries (what a browser opens without a token).</summary>
    private string CheckoutPath(long transactionId) =>
        new Uri(App.Services.GetRequiredService<SignedLinks>().Create(SignedLinks.CheckoutPurpose, $"/checkout/{transactionId}")).PathAndQuery;

    /// <summary>POST /users/{id}/deposits: the status, and the created deposit (null unless 201) or the problem's body.</summary>
    public async Task<(HttpStatusCode Status, ApiDeposit? Deposit, JsonElement Body)> RequestDepositAsync(long userId, long amount, string method, string? itemName = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/users/{userId}/deposits") { Content = JsonContent.Create(new { amount, paymentMethod = method, itemName }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokensByUser[userId]);
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (response.StatusCode != HttpStatusCode.Created) return (response.StatusCode, null, body);
        return (response.StatusCode, new ApiDeposit(body.GetProperty("transactionId").GetInt64(), userId, body.GetProperty("merchantTradeNo").GetString()!, amount, method), body);
    }

    public async Task<ApiDeposit> CreateDepositAsync(long userId, long amount, string method, string? itemName = null)
    {
        var (status, deposit, body) = await RequestDepositAsync(userId, amount, method, itemName);
        return deposit ?? throw new InvalidOperationException($"deposit not created: {(int)status} {body}");
    }

    /// <summary>GET /checkout/{id} as JSON: the signed fields in the order they are posted.</summary>
    public async Task<List<KeyValuePair<string, string>>> CheckoutJsonAsync(long transactionId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CheckoutPath(transactionId));
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"checkout {transactionId}: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("fields").EnumerateArray()
            .Select(f => new KeyValuePair<string, string>(f.GetProperty("name").GetString()!, f.GetProperty("value").GetString()!))
            .ToList();
    }

    /// <summary>GET /checkout/{id} as the browser's self-submitting page: the hidden inputs, HTML-decoded.</summary>
    public async Task<List<KeyValuePair<string, string>>> CheckoutPageAsync(long transactionId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, CheckoutPath(transactionId));
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await Http.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"checkout page {transactionId}: {(int)response.StatusCode}");
        return System.Text.RegularExpressions.Regex.Matches(html, "<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\">")
            .Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value)))
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

public sealed record ApiDeposit(long Id, long UserId, string MerchantTradeNo, long Amount, string Method);
