using System.ComponentModel.DataAnnotations;
using EcpayEvents.Payments;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// <c>PaymentsApi:Http:*</c>: how the API meets browsers and clients — CORS origins, extra CSP connect sources
/// (e.g. the Cognito endpoint the page signs in with) and the rate limits. Validated at start.
/// </summary>
public sealed class HttpSurfaceOptions : IValidatableObject
{
    public const string Section = "PaymentsApi:Http";

    /// <summary>Origins (scheme://host[:port]) whose scripts may call the API cross-origin; none by default.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>Origins the pages may fetch from besides their own (CSP connect-src).</summary>
    public string[] ConnectSources { get; set; } = [];

    /// <summary>Deposits and withdrawals each user (or, unauthenticated, client address) may start per minute.</summary>
    public int MoneyRequestsPerMinute { get; set; } = 10;

    /// <summary>Requests per minute per client address on the open routes (page, checkout link, OrderResultURL, OpenAPI).</summary>
    public int OpenRequestsPerMinute { get; set; } = 120;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var origin in CorsOrigins.Concat(ConnectSources))
        {
            if (!IsOrigin(origin))
                yield return new ValidationResult($"{Section}: '{origin}' is not an origin (scheme://host[:port], no path).");
        }
        if (MoneyRequestsPerMinute < 1) yield return new ValidationResult($"{Section}:MoneyRequestsPerMinute must be at least 1.");
        if (OpenRequestsPerMinute < 1) yield return new ValidationResult($"{Section}:OpenRequestsPerMinute must be at least 1.");
    }

    // An origin, exactly as a browser sends it in the Origin header: nothing after the port.
    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && string.Equals(value.TrimEnd('/'), uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
}

[OptionsValidator]
public sealed partial class HttpSurfaceOptionsValidator : IValidateOptions<HttpSurfaceOptions>;

/// <summary>
/// The API's HTTP surface: security headers on every answer (a hash-based CSP on HTML), CORS for configured
/// origins only, rate limits (429 with Retry-After) and the OpenAPI document.
/// </summary>
public static class HttpSurface
{
    public static IServiceCollection AddHttpSurface(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HttpSurfaceOptions>().Bind(configuration.GetSection(HttpSurfaceOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpSurfaceOptions>, HttpSurfaceOptionsValidator>();
        services.AddSingleton<SecurityHeaders>();
        services.AddCors();
        // Only configured origins; none by default, and then no CORS headers at all (browsers keep the same-origin policy).
        services.AddOptions<CorsOptions>().Configure<IOptions<HttpSurfaceOptions>>((cors, surface) =>
        {
            var origins = surface.Value.CorsOrigins;
            if (origins.Length == 0) return;
            cors.AddDefaultPolicy(policy => policy
                .WithOrigins([.. origins.Select(o => o.TrimEnd('/'))])
                .WithMethods("GET", "POST")
                .WithHeaders("Authorization", "Content-Type", IdempotencyKey.Header, "If-None-Match")
                .WithExposedHeaders("ETag", "Location", "Retry-After", TransactionPolling.PollAfterHeader)
                .SetPreflightMaxAge(TimeSpan.FromHours(1)));
        });
        services.AddApiRateLimits();
        services.AddApiDocument();
        return services;
    }

    /// <summary>
    /// Security headers, CORS and the OpenAPI document: early, before authentication (a CORS preflight carries no
    /// token). The rate limits are <see cref="ApiRateLimits.UseApiRateLimits"/>, after authentication.
    /// </summary>
    public static WebApplication UseHttpSurface(this WebApplication app)
    {
        // Resolved on first use: settings are validated when the app starts, not while it is built.
        var headers = new Lazy<SecurityHeaders>(() => app.Services.GetRequiredService<SecurityHeaders>());
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                headers.Value.Apply(context.Response);
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.UseCors();
        app.MapApiDocument();
        return app;
    }
}
