using System.Net;
using System.Text;
using System.Text.Json;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>Requests the routes cannot serve at all: wrong content type, wrong method, unknown ids.</summary>
public sealed class ProtocolProblemsTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("protocol");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    [Theory]
    [InlineData("/users", "text/plain")]
    [InlineData("/users/1/deposits", "text/plain")]
    [InlineData("/users/1/withdrawals", "application/x-www-form-urlencoded")]
    public async Task ABodyThatIsNotJsonIs415WithADetailSayingWhatToSend(string path, string contentType)
    {
        var response = await api.Client.PostAsync(path, new StringContent("""{"username":"bob","email":"bob@example.com"}""", Encoding.UTF8, contentType));
        var problem = await AssertProblem.ValidationAsync(response, "body", HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM users"));
    }

    [Theory]
    [InlineData("DELETE", "/users/1")]
    [InlineData("PUT", "/transactions/1")]
    [InlineData("GET", "/users/1/withdrawals")]
    public async Task AMethodARouteDoesNotTakeIs405WithADetailAndAllow(string method, string path)
    {
        var response = await api.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.MethodNotAllowed, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(405, problem.GetProperty("status").GetInt32());
        Assert.Contains(method, problem.GetProperty("detail").GetString());
        Assert.NotEmpty(response.Content.Headers.Allow);
    }

    [Fact]
    public async Task AnUnknownTransactionIs404AndNotCached()
    {
        var response = await api.Client.GetAsync("/transactions/987654");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
