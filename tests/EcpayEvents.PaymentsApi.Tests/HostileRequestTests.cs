using System.Net;
using System.Text;
using System.Text.Json;
using EcpayEvents.Testing;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// Requests built to break the framework rather than the rules: every one must be a 4xx problem, never
/// a 500 or a stack trace, and write nothing.
/// </summary>
public sealed class HostileRequestTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("hostile");

    public async ValueTask DisposeAsync()
    {
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM users"));
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    // A browser asks for text/html; the problem writer has no HTML writer and used to throw (500).
    [Theory]
    [InlineData("GET", "/no-such-route", null, null, 404)]
    [InlineData("DELETE", "/users/1", null, null, 405)]
    [InlineData("POST", "/users", "text/plain", "{}", 415)]
    [InlineData("POST", "/users", "application/json", "{\"username\":", 400)]
    [InlineData("POST", "/users", "application/json", "{\"username\":\"a\",\"email\":1}", 400)]
    public async Task AProblemAskedForAsHtmlIsStillThe4xxProblem(string method, string path, string? contentType, string? body, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Accept.Clear();
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", api.Current!.AccessToken); // signed in: past the 401
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType!);
        using var client = new HttpClient { BaseAddress = api.BaseAddress };
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, JsonDocument.Parse(text).RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", text);
    }

    // Kestrel throws BadHttpRequestException from the body read: it used to escape as a 500.
    [Theory]
    [InlineData("/ecpay/order-result", "application/x-www-form-urlencoded")]
    [InlineData("/users", "application/json")]
    [InlineData("/users/1/deposits", "application/json")]
    public async Task AMalformedChunkedBodyIs400(string path, string contentType)
    {
        var answer = await RawHttp.SendAsync(api.BaseAddress, RawHttp.MalformedChunkedPost(api.BaseAddress, path, contentType));
        Assert.True(answer.Status == 400, $"{answer.Head}\n{answer.Body}");
        Assert.DoesNotContain("   at ", answer.Body);
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync("/healthz")).StatusCode);
    }

    // JSON bodies are a few hundred bytes; Kestrel's default would read 30 MB into memory per request.
    [Theory]
    [InlineData("/users", false)]
    [InlineData("/users", true)]
    [InlineData("/users/1/deposits", false)]
    [InlineData("/users/1/withdrawals", true)]
    public async Task AJsonBodyOverTheRouteLimitIs413Problem(string path, bool chunked)
    {
        var json = "{\"username\":\"" + new string('a', 64 * 1024) + "\",\"email\":\"a@example.com\"}";
        var content = new StringContent(json, Encoding.UTF8, "application/json");
        if (chunked) content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (chunked) request.Headers.TransferEncodingChunked = true;
        var response = await api.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(413, JsonDocument.Parse(text).RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task AnOrderResultOverItsLimitIs413()
    {
        var response = await api.Client.PostAsync("/ecpay/order-result",
            new StringContent("MerchantID=" + new string('1', 70 * 1024), Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    // ./run.sh ran the services as Development, where the framework's developer exception page answered
    // a 500 with the stack trace. A database that is down is a 500, but says nothing about why.
    [Theory]
    [InlineData("application/json")]
    [InlineData("text/html")]
    public async Task A500InDevelopmentCarriesNoExceptionDetails(string accept)
    {
        await using var broken = await PaymentsApiHost.StartAsync("hostiledev", null,
            "--environment=Development", "--Database:ConnectionString=Server=127.0.0.1;Port=1;User ID=root;Password=secret-in-connection-string;Connection Timeout=1");
        using var client = new HttpClient { BaseAddress = broken.BaseAddress };
        client.DefaultRequestHeaders.TryAddWithoutValidation("Accept", accept);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", broken.Current!.AccessToken);
        var response = await client.GetAsync("/users/1");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("MySql", text);
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain("secret-in-connection-string", text);
    }

    // Found by the bad-input suite: both created a user.
    [Theory]
    [InlineData("{\"username\":\"dup_user\",\"username\":\"dup_user\",\"email\":\"d@example.com\"}", null)]
    [InlineData("{\"username\":\"bad_utf8\",\"x\":1,\"email\":\"u@example.com\"}", "\"x\"")]
    public async Task DuplicateKeysAndInvalidUtf8AnywhereInJsonAre400(string json, string? corruptAt)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        if (corruptAt is not null)
        {
            // An unknown property's name with a UTF-8-encoded surrogate (ED A0 80): System.Text.Json skips it unread.
            var at = json.IndexOf(corruptAt, StringComparison.Ordinal) + 1;
            bytes = [.. bytes[..at], 0xED, 0xA0, 0x80, .. bytes[at..]];
        }
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        var response = await api.Client.PostAsync("/users", content);
        var problem = await AssertProblem.ValidationAsync(response, corruptAt is null ? "username" : "body");
        Assert.Contains(corruptAt is null ? "appears more than once" : "not valid UTF-8", problem.GetProperty("detail").GetString());
    }
}
