using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using EcpayEvents.Payments.Users;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// <c>PaymentsApi:Cognito</c>: the user pool whose access tokens the API accepts. On AWS the issuer is
/// <c>https://cognito-idp.&lt;region&gt;.amazonaws.com/&lt;userPoolId&gt;</c>; locally cognito-local's
/// (<c>.local/run/cognito.json</c>).
/// </summary>
public sealed partial class CognitoOptions
{
    public const string OperatorsGroup = "operators";

    public string Issuer { get; set; } = "";
    /// <summary>The web page's app client: access tokens must carry this <c>client_id</c>.</summary>
    public string ClientId { get; set; } = "";
    /// <summary>The pool id (the web page needs it only with <see cref="LocalConfirm"/>).</summary>
    public string UserPoolId { get; set; } = "";
    /// <summary>Cognito's API as the web page calls it; default <c>https://cognito-idp.&lt;region&gt;.amazonaws.com/</c> from the issuer.</summary>
    public string? Endpoint { get; set; }
    /// <summary>Where the signing keys are; default <c>&lt;issuer&gt;/.well-known/jwks.json</c>.</summary>
    public string? JwksUrl { get; set; }
    /// <summary>
    /// Local stack only: the web page confirms a new account itself with AdminConfirmSignUp, which only
    /// cognito-local accepts without AWS credentials. Refused in production.
    /// </summary>
    public bool LocalConfirm { get; set; }
    /// <summary>Allowed clock difference for a token's lifetime (default 30 s).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public string EffectiveJwksUrl => string.IsNullOrWhiteSpace(JwksUrl) ? Issuer.TrimEnd('/') + "/.well-known/jwks.json" : JwksUrl;

    public string EffectiveEndpoint => !string.IsNullOrWhiteSpace(Endpoint) ? Endpoint
        : CognitoIssuer().Match(Issuer) is { Success: true } m ? $"https://cognito-idp.{m.Groups["region"].Value}.amazonaws.com/" : "";

    [GeneratedRegex("^https://cognito-idp\\.(?<region>[a-z]{2}(-[a-z]+)+-[0-9])\\.amazonaws\\.com/(?<pool>\\k<region>_[A-Za-z0-9]+)$")]
    private static partial Regex CognitoIssuer();

    public IEnumerable<string> Problems(bool production)
    {
        if (string.IsNullOrWhiteSpace(Issuer))
            yield return "PaymentsApi:Cognito:Issuer is required: the user pool's issuer, https://cognito-idp.<region>.amazonaws.com/<userPoolId>.";
        else if (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || (issuer.Scheme != Uri.UriSchemeHttps && issuer.Scheme != Uri.UriSchemeHttp))
            yield return "PaymentsApi:Cognito:Issuer must be an absolute https URL.";
        else if (production && issuer.Scheme != Uri.UriSchemeHttps)
            yield return $"PaymentsApi:Cognito:Issuer must be https in production, not '{Issuer}': a local identity provider signs with a published key, so anyone could mint its tokens.";
        else if (production && !CognitoIssuer().IsMatch(Issuer))
            yield return $"PaymentsApi:Cognito:Issuer must be an Amazon Cognito user pool (https://cognito-idp.<region>.amazonaws.com/<userPoolId>) in production, not '{Issuer}'.";
        if (string.IsNullOrWhiteSpace(ClientId))
            yield return "PaymentsApi:Cognito:ClientId is required: the app client whose access tokens the API accepts.";
        if (production && LocalConfirm)
            yield return "PaymentsApi:Cognito:LocalConfirm must not be set in production: it is for the local identity provider only.";
        if (LocalConfirm && string.IsNullOrWhiteSpace(UserPoolId))
            yield return "PaymentsApi:Cognito:UserPoolId is required with PaymentsApi:Cognito:LocalConfirm.";
        if (production && !string.IsNullOrWhiteSpace(JwksUrl) && !JwksUrl.StartsWith("https://", StringComparison.Ordinal))
            yield return "PaymentsApi:Cognito:JwksUrl must be https in production.";
        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(5))
            yield return "PaymentsApi:Cognito:ClockSkew must be from 0 to 5 minutes.";
    }
}

/// <summary>
/// Who may call what. Every endpoint needs a valid Cognito access token (the fallback policy) unless it
/// opts out with AllowAnonymous. The app validates tokens itself even behind API Gateway's JWT
/// authorizer: issuer, RS256 signature by a key of the pool's JWKS (cached; an unknown kid triggers a
/// refresh), lifetime, token_use=access and client_id (access tokens carry no aud).
/// </summary>
public static class Identity
{
    public static IServiceCollection AddCognitoAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<PaymentsApiSettings>>((o, settings) =>
            {
                var cognito = settings.Value.PaymentsApi.Cognito;
                var production = settings.Value.Ecpay.IsProduction;
                o.MapInboundClaims = false; // keep Cognito's claim names (sub, cognito:groups)
                o.RequireHttpsMetadata = production;
                o.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                    cognito.EffectiveJwksUrl, new JwksRetriever(), new HttpDocumentRetriever { RequireHttps = production })
                {
                    // A kid we do not know asks for the keys again, at most once a minute.
                    RefreshInterval = TimeSpan.FromMinutes(1),
                };
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = cognito.Issuer,
                    ValidateIssuer = true,
                    ValidateAudience = false, // access tokens carry client_id, checked below
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
                    ValidateIssuerSigningKey = true,
                    ClockSkew = cognito.ClockSkew,
                    NameClaimType = "sub",
                    RoleClaimType = "cognito:groups",
                };
                o.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var principal = context.Principal!;
                        if (principal.FindFirst("token_use")?.Value != "access")
                            context.Fail("Not an access token.");
                        else if (principal.FindFirst("client_id")?.Value != cognito.ClientId)
                            context.Fail("The token was issued to another client.");
                        else if (string.IsNullOrEmpty(principal.FindFirst("sub")?.Value))
                            context.Fail("The token names no user.");
                        return Task.CompletedTask;
                    },
                };
            });
        services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return services;
    }

    /// <summary>The signed-in caller as the use cases see them.</summary>
    public static Caller Caller(this ClaimsPrincipal user) =>
        new(user.FindFirst("sub")?.Value ?? throw new InvalidOperationException("An authenticated user without sub."),
            user.FindAll("cognito:groups").Any(g => g.Value == CognitoOptions.OperatorsGroup));

    /// <summary>Reads only the pool's JWKS (Cognito serves it at the issuer; cognito-local's discovery document names the wrong port).</summary>
    private sealed class JwksRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
    {
        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
        {
            var json = await retriever.GetDocumentAsync(address, cancel);
            var configuration = new OpenIdConnectConfiguration { JwksUri = address, JsonWebKeySet = new JsonWebKeySet(json) };
            foreach (var key in configuration.JsonWebKeySet.GetSigningKeys()) configuration.SigningKeys.Add(key);
            return configuration;
        }
    }
}

/// <summary>
/// Links for browser navigations that cannot carry a bearer token (the checkout form): the path plus
/// <c>?expires=UNIX&amp;sig=HMAC</c>, HMAC-SHA256 over purpose, path and expiry with
/// <c>PaymentsApi:LinkSigningKey</c>. Unguessable without the key, valid for at most 15 minutes, and
/// only for the one purpose and path it was made for.
/// </summary>
public sealed class SignedLinks(PaymentsApiSettings settings, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);
    public const string CheckoutPurpose = "checkout";

    private readonly byte[] key = Convert.FromBase64String(settings.PaymentsApi.LinkSigningKey);

    public static string? KeyProblem(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return "PaymentsApi:LinkSigningKey is required: base64 of at least 32 random bytes (openssl rand -base64 32).";
        try { return Convert.FromBase64String(value).Length >= 32 ? null : "PaymentsApi:LinkSigningKey must be at least 32 bytes (base64 of 32 random bytes)."; }
        catch (FormatException) { return "PaymentsApi:LinkSigningKey must be base64."; }
    }

    /// <summary>An absolute link to <paramref name="path"/>, valid until the earlier of 15 minutes from now and <paramref name="notAfter"/>.</summary>
    public string Create(string purpose, string path, DateTimeOffset? notAfter = null)
    {
        var expires = time.GetUtcNow() + Lifetime;
        if (notAfter is { } limit && limit < expires) expires = limit;
        var unix = expires.ToUnixTimeSeconds();
        return settings.PublicUrl($"{path}?expires={unix.ToString(CultureInfo.InvariantCulture)}&sig={Sign(purpose, path, unix)}");
    }

    public bool IsValid(string purpose, string path, string? expires, string? signature)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) || string.IsNullOrEmpty(signature)) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(purpose, path, unix));
        var given = Encoding.ASCII.GetBytes(signature);
        var now = time.GetUtcNow();
        // Never longer than a link this server makes (a leaked key must not mint links valid for years).
        return CryptographicOperations.FixedTimeEquals(expected, given)
            && unix <= (now + Lifetime + TimeSpan.FromMinutes(1)).ToUnixTimeSeconds()
            && DateTimeOffset.FromUnixTimeSeconds(unix) > now;
    }

    private string Sign(string purpose, string path, long unix)
    {
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{purpose}\n{path}\n{unix.ToString(CultureInfo.InvariantCulture)}"));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
