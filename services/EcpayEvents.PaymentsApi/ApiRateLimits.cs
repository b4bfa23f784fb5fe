using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// ASP.NET Core's rate limiter, one fixed one-minute window per partition: starting deposits and withdrawals
/// is limited per user (the token's <c>sub</c>; without one, the client address), the open routes per client
/// address. Everything else (polling, reads) is not limited here. Over the limit: 429, a problem and Retry-After.
/// API Gateway's route throttling in template.yaml is the coarse, account-wide guard in front of it.
/// </summary>
public static class ApiRateLimits
{
    /// <summary>POST routes that start a payment or move money.</summary>
    public static readonly IReadOnlySet<string> MoneyRoutes = new HashSet<string>(StringComparer.Ordinal) { "/users/{id}/deposits", "/users/{id}/withdrawals" };

    /// <summary>Routes anyone may call: the page shell, the signed checkout link, ECPay's OrderResultURL, the API document.</summary>
    public static readonly IReadOnlySet<string> OpenRoutes = new HashSet<string>(StringComparer.Ordinal) { "/", "/checkout/{id}", "/ecpay/order-result", ApiDocument.Path };

    public static IServiceCollection AddApiRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<HttpSurfaceOptions>>((limiter, surface) =>
        {
            var limits = surface.Value;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => Partition(context) switch
            {
                { Kind: LimitKind.Money } p => RateLimitPartition.GetFixedWindowLimiter(p.Key, _ => Window(limits.MoneyRequestsPerMinute)),
                { Kind: LimitKind.Open } p => RateLimitPartition.GetFixedWindowLimiter(p.Key, _ => Window(limits.OpenRequestsPerMinute)),
                _ => RateLimitPartition.GetNoLimiter(""),
            });
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
        });
        return services;
    }

    /// <summary>After authentication, so that a caller is limited by the token's <c>sub</c>, not by address.</summary>
    public static WebApplication UseApiRateLimits(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }

    public enum LimitKind { None, Money, Open }

    /// <summary>Which limit a request counts against, and whose: "user:{sub}" or "ip:{address}".</summary>
    public static (LimitKind Kind, string Key) Partition(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var route = (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        if (route is null) return (LimitKind.None, "");
        if (HttpMethods.IsPost(context.Request.Method) && MoneyRoutes.Contains(route))
        {
            var sub = context.User.Identity?.IsAuthenticated == true ? context.User.FindFirstValue("sub") : null;
            return (LimitKind.Money, string.IsNullOrEmpty(sub) ? "money-ip:" + ClientAddress(context) : "money-user:" + sub);
        }
        if (OpenRoutes.Contains(route) || endpoint!.Metadata.GetMetadata<IAllowAnonymous>() is not null && route != "/healthz")
            return (LimitKind.Open, "open-ip:" + ClientAddress(context));
        return (LimitKind.None, "");
    }

    /// <summary>
    /// The client's address. Behind API Gateway and Lambda Web Adapter the connection is local, so it is the LAST
    /// X-Forwarded-For entry (the address API Gateway saw; earlier entries are whatever the client sent).
    /// </summary>
    public static string ClientAddress(HttpContext context)
    {
        var forwarded = context.Request.Headers["X-Forwarded-For"];
        for (var i = forwarded.Count - 1; i >= 0; i--)
        {
            var header = forwarded[i];
            if (string.IsNullOrWhiteSpace(header)) continue;
            var last = header[(header.LastIndexOf(',') + 1)..].Trim();
            if (last.Length > 0) return last.Length <= 64 ? last : last[..64];
        }
        return context.Connection.RemoteIpAddress?.ToString() ?? "";
    }

    private static FixedWindowRateLimiterOptions Window(int permits) => new()
    {
        PermitLimit = permits,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken ct)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many requests.",
            detail: $"Try again in {context.Response.Headers.RetryAfter} s.").ExecuteAsync(context);
    }
}
