using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EcpayEvents.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// Every route × every kind of caller, against the real cognito-local: who gets what. Bad tokens are
/// minted here — with cognito-local's published key where the signature must verify (expired, another
/// client, another issuer), with a key of our own for an unknown kid.
/// </summary>
public sealed partial class AccessTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;
    private CognitoUser owner = null!, other = null!, op = null!;
    private long ownerId, otherId, ownerTransaction, otherTransaction;

    public async ValueTask InitializeAsync()
    {
        api = await PaymentsApiHost.StartAsync("access");
        otherId = await api.CreateUserAsync("other", "other@example.com");
        other = api.Current!;
        ownerId = await api.CreateUserAsync("owner", "owner@example.com");
        owner = api.Current!;
        op = await api.SignUpAsync("operator", "operators");
        await api.CreditAsync(ownerId, 1000);
        await api.CreditAsync(otherId, 1000);
        ownerTransaction = await api.Database.ScalarAsync<long>("SELECT MAX(id) FROM transactions WHERE user_id = @u", ("@u", ownerId));
        otherTransaction = await api.Database.ScalarAsync<long>("SELECT MAX(id) FROM transactions WHERE user_id = @u", ("@u", otherId));
    }

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private sealed record Route(string Method, string Path, string? Body, int Owner, int Other, int Operator, int Anonymous = 401, int BadToken = 401);

    // Expected status per caller. Open routes answer the same to everyone, whatever token comes with them.
    private IEnumerable<Route> Routes() =>
    [
        new("GET", "/", null, 200, 200, 200, 200, 200),
        new("GET", "/healthz", null, 200, 200, 200, 200, 200),
        new("GET", "/auth/config", null, 200, 200, 200, 200, 200),
        new("GET", "/session.js", null, 200, 200, 200, 200, 200),
        new("GET", $"/checkout/{ownerTransaction}", null, 403, 403, 403, 403, 403), // no signed link: refused for all
        new("POST", "/ecpay/order-result", "", 400, 400, 400, 400, 400), // no CheckMacValue: refused for all
        new("GET", "/me", null, 200, 200, 404),
        new("GET", "/users", null, 403, 403, 200),
        new("GET", $"/users/{ownerId}", null, 200, 404, 200),
        new("GET", $"/users/{ownerId}/transactions", null, 200, 404, 200),
        new("GET", $"/transactions/{ownerTransaction}", null, 200, 404, 200),
        new("POST", $"/users/{ownerId}/deposits", """{"amount":100,"paymentMethod":"Credit"}""", 201, 404, 403),
        new("POST", $"/users/{ownerId}/withdrawals", """{"amount":1}""", 201, 404, 403),
        new("POST", "/users", """{"username":"someone","email":"someone@example.com"}""", 200, 200, 201),
    ];

    private async Task<HttpResponseMessage> SendAsync(Route route, string? token)
    {
        using var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path);
        request.Headers.Accept.ParseAdd("application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (route.Body is not null)
            request.Content = new StringContent(route.Body, Encoding.UTF8, route.Path.StartsWith("/ecpay", StringComparison.Ordinal) ? "application/x-www-form-urlencoded" : "application/json");
        return await api.Anonymous.SendAsync(request);
    }

    [Fact]
    public async Task EveryRouteAnswersEachKindOfCallerAsItShould()
    {
        var bad = BadTokens();
        var failures = new List<string>();
        foreach (var route in Routes())
        {
            var callers = new List<(string Name, string? Token, int Expected)>
            {
                ("anonymous", null, route.Anonymous),
                ("owner", owner.AccessToken, route.Owner),
                ("another user", other.AccessToken, route.Other),
                ("operator", op.AccessToken, route.Operator),
            };
            callers.AddRange(bad.Select(b => (b.Key, (string?)b.Value, route.BadToken)));
            foreach (var (name, token, expected) in callers)
            {
                using var response = await SendAsync(route, token);
                if ((int)response.StatusCode != expected)
                    failures.Add($"{route.Method} {route.Path} as {name}: expected {expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                else if (expected == 401)
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The operator moved nothing, and the bad tokens wrote nothing: one deposit and one withdrawal, both the owner's.
        var before = Math.Max(ownerTransaction, otherTransaction);
        Assert.Equal(2, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u AND id > @t", ("@u", ownerId), ("@t", before)));
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id <> @u AND id > @t", ("@u", ownerId), ("@t", before)));
    }

    [Fact]
    public async Task AnotherUsersIdsAnswerExactlyLikeMissingOnes()
    {
        // Ids 1..N cover the owner's, the other user's and ids that do not exist.
        var maxUser = await api.Database.ScalarAsync<long>("SELECT MAX(id) FROM users") + 3;
        var maxTransaction = await api.Database.ScalarAsync<long>("SELECT MAX(id) FROM transactions") + 3;
        var missingUser = await NormalisedAsync($"/users/{maxUser + 1000}", owner);
        var missingTransaction = await NormalisedAsync($"/transactions/{maxTransaction + 1000}", owner);
        var missingList = await NormalisedAsync($"/users/{maxUser + 1000}/transactions", owner);
        for (var id = 1L; id <= maxUser; id++)
        {
            if (id == ownerId) continue;
            Assert.Equal(missingUser.Replace((maxUser + 1000).ToString(), id.ToString()), await NormalisedAsync($"/users/{id}", owner));
            Assert.Equal(missingList.Replace((maxUser + 1000).ToString(), id.ToString()), await NormalisedAsync($"/users/{id}/transactions", owner));
        }
        var owned = (await api.Database.ScalarAsync<string>("SELECT GROUP_CONCAT(id) FROM transactions WHERE user_id = @u", ("@u", ownerId))).Split(',').Select(long.Parse).ToHashSet();
        for (var id = 1L; id <= maxTransaction; id++)
        {
            if (owned.Contains(id)) continue;
            Assert.Equal(missingTransaction.Replace((maxTransaction + 1000).ToString(), id.ToString()), await NormalisedAsync($"/transactions/{id}", owner));
        }
        Assert.Contains(otherTransaction, Enumerable.Range(1, (int)maxTransaction).Select(i => (long)i)); // the loop did cover it
    }

    /// <summary>Status, headers that matter and the body, with only the per-request traceId blanked.</summary>
    private async Task<string> NormalisedAsync(string path, CognitoUser caller)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", caller.AccessToken);
        using var response = await api.Anonymous.SendAsync(request);
        var body = TraceId().Replace(await response.Content.ReadAsStringAsync(), "\"traceId\":\"-\"");
        return $"{(int)response.StatusCode} {response.Content.Headers.ContentType} {response.Headers.CacheControl} {response.Headers.ETag} {body}";
    }

    [GeneratedRegex("\"traceId\":\"[^\"]*\"")]
    private static partial Regex TraceId();

    [Fact]
    public async Task ASignedCheckoutLinkWorksOnlyForItsOwnDepositAndNotOnceAltered()
    {
        var response = await api.Client.PostAsJsonAsync($"/users/{ownerId}/deposits", new { amount = 100, paymentMethod = "Credit" });
        var deposit = await response.Content.ReadFromJsonAsync<JsonElement>();
        var link = new Uri(deposit.GetProperty("checkoutUrl").GetString()!).PathAndQuery;
        var id = deposit.GetProperty("transactionId").GetInt64();
        // Another deposit id with this link's signature, another expiry, a missing signature: all refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await api.Anonymous.GetAsync(link.Replace($"/checkout/{id}?", $"/checkout/{otherTransaction}?"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.Anonymous.GetAsync(Regex.Replace(link, "expires=[0-9]+", m => "expires=" + (long.Parse(m.Value[8..]) + 60)))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.Anonymous.GetAsync($"/checkout/{id}")).StatusCode);
        // Correctly signed (the key leaked, say) but valid for a year: longer than any link the server makes.
        string Sign(long expires) => Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(Convert.FromBase64String(PaymentsApiHost.LinkSigningKey),
            System.Text.Encoding.UTF8.GetBytes($"checkout\n/checkout/{id}\n{expires}"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var real = Regex.Match(link, "expires=([0-9]+)&sig=([^&]+)");
        Assert.Equal(real.Groups[2].Value, Sign(long.Parse(real.Groups[1].Value))); // this test signs as the server does
        var year = DateTimeOffset.UtcNow.AddYears(1).ToUnixTimeSeconds();
        Assert.Equal(HttpStatusCode.Forbidden, (await api.Anonymous.GetAsync($"/checkout/{id}?expires={year}&sig={Sign(year)}")).StatusCode);
        // The link itself needs no token (a browser navigation carries none).
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync(link)).StatusCode);
    }

    [Fact]
    public async Task ASecondPostUsersReturnsTheSameUserAndMeIsIt()
    {
        using var first = new HttpRequestMessage(HttpMethod.Post, "/users") { Content = JsonContent.Create(new { username = "again", email = "again@example.com" }) };
        first.Headers.Authorization = new AuthenticationHeaderValue("Bearer", owner.AccessToken);
        using var again = await api.Anonymous.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(ownerId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        Assert.Equal(1, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM users WHERE sub = @s", ("@s", owner.Sub)));
        using var me = new HttpRequestMessage(HttpMethod.Get, "/me");
        me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", owner.AccessToken);
        Assert.Equal(ownerId, (await (await api.Anonymous.SendAsync(me)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task ConcurrentFirstPostUsersOfOnePersonCreateOneUser()
    {
        var fresh = await api.Cognito.CreateUserAsync("concurrent");
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/users") { Content = JsonContent.Create(new { username = $"concurrent{i}", email = "c@example.com" }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fresh.AccessToken);
            using var response = await api.Anonymous.SendAsync(request);
            return (response.StatusCode, Id: (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        }));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK));
        Assert.Single(responses.Select(r => r.Id).Distinct());
        Assert.Equal(1, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM users WHERE sub = @s", ("@s", fresh.Sub)));
    }

    [Fact]
    public async Task OperatorsListUsersPageByPage()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users?limit=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", op.AccessToken);
        var page = await (await api.Anonymous.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.String, page.GetProperty("nextCursor").ValueKind);
    }

    // ------------------------------------------------------------ bad tokens

    private Dictionary<string, string> BadTokens()
    {
        var settings = api.Cognito.Settings;
        var localKey = new JsonWebKey(JsonDocument.Parse(LocalCognito.PrivateKeyJson).RootElement.GetProperty("jwk").GetRawText()) { KeyId = "CognitoLocal" };
        var ownKey = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "not-in-the-jwks" };
        var now = DateTimeOffset.UtcNow;
        string Mint(SecurityKey key, string issuer, string clientId, string tokenUse, DateTimeOffset expires) =>
            new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer,
                IssuedAt = expires.AddHours(-1).UtcDateTime,
                NotBefore = expires.AddHours(-1).UtcDateTime,
                Expires = expires.UtcDateTime,
                Claims = new Dictionary<string, object> { ["sub"] = owner.Sub, ["client_id"] = clientId, ["token_use"] = tokenUse, ["username"] = owner.Sub },
                SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
            });
        var parts = owner.AccessToken.Split('.');
        var claims = JsonDocument.Parse(Base64UrlEncoder.Decode(parts[1])).RootElement;
        var escalated = Base64UrlEncoder.Encode(claims.GetRawText().Replace("\"token_use\":\"access\"", "\"cognito:groups\":[\"operators\"],\"token_use\":\"access\""));
        return new()
        {
            ["expired token"] = Mint(localKey, settings.Issuer, settings.ClientId, "access", now.AddMinutes(-5)),
            ["token for another client"] = Mint(localKey, settings.Issuer, "another-client", "access", now.AddMinutes(30)),
            ["id token"] = owner.Tokens.IdToken,
            ["tampered signature"] = $"{parts[0]}.{parts[1]}.{parts[2][..^4]}AAAA",
            ["tampered claims (operators added)"] = $"{parts[0]}.{escalated}.{parts[2]}",
            ["alg none"] = $"{Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}.",
            ["unknown kid"] = Mint(ownKey, settings.Issuer, settings.ClientId, "access", now.AddMinutes(30)),
            ["token from another issuer"] = Mint(localKey, settings.Endpoint + "local_Other123", settings.ClientId, "access", now.AddMinutes(30)),
            ["not a JWT"] = "garbage",
        };
    }

    [Fact]
    public async Task ATokenMintedLikeTheBadOnesButValidIsAccepted()
    {
        // Proves the bad tokens fail for the reason named, not because minting is broken.
        var settings = api.Cognito.Settings;
        var localKey = new JsonWebKey(JsonDocument.Parse(LocalCognito.PrivateKeyJson).RootElement.GetProperty("jwk").GetRawText()) { KeyId = "CognitoLocal" };
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Expires = DateTime.UtcNow.AddMinutes(30),
            Claims = new Dictionary<string, object> { ["sub"] = owner.Sub, ["client_id"] = settings.ClientId, ["token_use"] = "access" },
            SigningCredentials = new SigningCredentials(localKey, SecurityAlgorithms.RsaSha256),
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/users/{ownerId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.SendAsync(request)).StatusCode);
    }
}
