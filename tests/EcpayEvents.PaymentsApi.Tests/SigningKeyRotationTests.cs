using EcpayEvents.Testing;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// The pool's keys are cached, and a token signed by a key the cache does not know makes the service ask
/// for the keys again (Cognito rotates them), at most once a minute: a JWKS endpoint of our own that
/// starts serving a new key.
/// </summary>
public sealed class SigningKeyRotationTests : IAsyncLifetime
{
    private readonly RsaSecurityKey oldKey = new(RSA.Create(2048)) { KeyId = "old" };
    private readonly RsaSecurityKey newKey = new(RSA.Create(2048)) { KeyId = "new" };
    private volatile bool rotated;
    private int jwksRequests;
    private WebApplication jwks = null!;
    private PaymentsApiHost api = null!;
    private const string Issuer = "http://127.0.0.1:1/local_Rotation";

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        jwks = builder.Build();
        jwks.MapGet("/jwks.json", () =>
        {
            Interlocked.Increment(ref jwksRequests);
            var keys = rotated ? new[] { oldKey, newKey } : [oldKey];
            var json = "{\"keys\":[" + string.Join(",", keys.Select(Jwk)) + "]}";
            return Results.Content(json, "application/json");
        });
        await jwks.StartAsync();
        api = await PaymentsApiHost.StartAsync("rotation", null,
            $"--PaymentsApi:Cognito:Issuer={Issuer}", "--PaymentsApi:Cognito:ClientId=rotation-client",
            $"--PaymentsApi:Cognito:JwksUrl={new Uri(jwks.BoundAddress(), "/jwks.json")}");
    }

    private static string Jwk(RsaSecurityKey key)
    {
        var p = key.Rsa.ExportParameters(false);
        return $$"""{"kty":"RSA","use":"sig","alg":"RS256","kid":"{{key.KeyId}}","n":"{{Base64UrlEncoder.Encode(p.Modulus)}}","e":"{{Base64UrlEncoder.Encode(p.Exponent)}}"}""";
    }

    public async ValueTask DisposeAsync()
    {
        await api.DisposeAsync();
        await jwks.StopAsync();
        await jwks.DisposeAsync();
    }

    private string Token(SecurityKey key) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Expires = DateTime.UtcNow.AddMinutes(30),
        Claims = new Dictionary<string, object> { ["sub"] = "rotation-user", ["client_id"] = "rotation-client", ["token_use"] = "access" },
        SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
    });

    private async Task<HttpStatusCode> MeAsync(SecurityKey key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(key));
        using var response = await api.Anonymous.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task AnUnknownKidFetchesTheKeysAgainOnceSoARotatedKeyIsAcceptedAndBogusKidsCannotHammerTheJwks()
    {
        Assert.Equal(HttpStatusCode.NotFound, await MeAsync(oldKey)); // signed in (no user yet): the key is trusted
        Assert.Equal(HttpStatusCode.NotFound, await MeAsync(oldKey));
        Assert.Equal(1, jwksRequests); // cached

        // The pool starts signing with a new key it has just published: the first token naming it makes the
        // service fetch the keys again (the cache would otherwise keep the old set for hours). The fetch runs
        // in the background, so that first request may still be refused: wait for the fetch (bounded).
        rotated = true;
        var first = await MeAsync(newKey);
        Assert.True(first is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized, first.ToString());
        await Poll.UntilAsync(() => Volatile.Read(ref jwksRequests) >= 2, "the JWKS to be fetched again");
        Assert.Equal(2, jwksRequests);
        await Poll.UntilAsync(() => MeAsync(newKey), status => status == HttpStatusCode.NotFound, "a token signed with the new key to be accepted",
            describe: status => status.ToString());
        Assert.Equal(HttpStatusCode.NotFound, await MeAsync(oldKey)); // both keys now

        // A kid nobody published: refused, and it does not make the service fetch again right away.
        var stranger = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "stranger" };
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(stranger));
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(stranger));
        Assert.Equal(2, jwksRequests);
    }
}

