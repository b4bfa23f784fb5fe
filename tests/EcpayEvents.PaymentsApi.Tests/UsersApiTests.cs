using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace EcpayEvents.PaymentsApi.Tests;

public sealed class UsersApiTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("usersapi");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    [Fact]
    public async Task CreatingAUserAnswers201WithLocationAndAZeroBalance()
    {
        var response = await api.Client.PostAsJsonAsync("/users", new { username = "alice", email = "alice@example.com" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetInt64();
        Assert.Equal($"/users/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("alice@example.com", body.GetProperty("email").GetString());
        Assert.Equal(0, body.GetProperty("balance").GetInt64());

        var user = await api.Client.GetFromJsonAsync<JsonElement>($"/users/{id}");
        Assert.Equal("alice", user.GetProperty("username").GetString());
        Assert.Equal(0, user.GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task GettingAUserNeverShowsTheFullEmail()
    {
        var id = await api.CreateUserAsync("bob", "bob.secret@example.com");
        var json = await api.Client.GetStringAsync($"/users/{id}");
        Assert.DoesNotContain("bob.secret", json);
        Assert.Contains("b***@example.com", json);
    }

    [Theory]
    [InlineData("""{"username":"","email":"a@example.com"}""", "username")]
    [InlineData("""{"username":"ab","email":"a@example.com"}""", "username")]
    [InlineData("""{"username":"has space","email":"a@example.com"}""", "username")]
    [InlineData("""{"username":"carol","email":"not-an-email"}""", "email")]
    [InlineData("""{"username":"carol"}""", "email")]
    [InlineData("""{"username":"carol","email":"a@b"}""", "email")]
    [InlineData("""{"username":42,"email":"a@example.com"}""", "username")]
    public async Task InvalidUsersAre400ProblemsNamingTheField(string json, string field)
    {
        var response = await api.Client.PostAsync("/users", new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertProblem.ValidationAsync(response, field);
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM users"));
    }

    [Fact]
    public async Task MalformedJsonIsA400Problem()
    {
        var response = await api.Client.PostAsync("/users", new StringContent("{\"username\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text); // no stack trace
    }

    [Fact]
    public async Task NonNumericIdIs400AndUnknownIdIs404()
    {
        await AssertProblem.ValidationAsync(await api.Client.GetAsync("/users/abc"), "id");
        await AssertProblem.ValidationAsync(await api.Client.GetAsync("/users/-1"), "id");
        await AssertProblem.ValidationAsync(await api.Client.GetAsync("/users/99999999999999999999999"), "id");
        var missing = await api.Client.GetAsync("/users/987654");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Client.GetAsync("/users/987654/transactions")).StatusCode);
    }

    [Fact]
    public async Task TheWebPageIsServed()
    {
        var response = await api.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"deposit\"", html);
        Assert.Contains("data-testid=\"withdraw\"", html);
    }
}

internal static class AssertProblem
{
    public static async Task<JsonElement> ValidationAsync(HttpResponseMessage response, string field, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"no error for '{field}' in {text}");
        return problem;
    }
}
