using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Hosting;

/// <summary>
/// How every service starts. On Lambda each runs behind AWS Lambda Web Adapter, which forwards to
/// 127.0.0.1:AWS_LWA_PORT (or PORT) and waits for GET /healthz; locally and in tests it runs on Kestrel.
/// </summary>
public static class ServiceHost
{
    /// <summary>
    /// Builds a service: the shared builder, the service's <paramref name="addServices"/>, then the test hook
    /// <paramref name="configure"/> (added last, so it can replace anything); problem answers come first in the
    /// pipeline, then the service's <paramref name="mapEndpoints"/> (its middleware, health check and routes).
    /// </summary>
    public static WebApplication Build(string[] args, int defaultPort, Action<WebApplicationBuilder> addServices,
        Action<WebApplication> mapEndpoints, Action<WebApplicationBuilder>? configure)
    {
        ArgumentNullException.ThrowIfNull(addServices);
        ArgumentNullException.ThrowIfNull(mapEndpoints);
        var builder = CreateBuilder(args, defaultPort);
        addServices(builder);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseServiceProblems(); // a request that breaks the framework is a 4xx, a fault a bare 500: never a stack trace
        mapEndpoints(app);
        return app;
    }

    /// <summary>SSM secrets, the port, JSON logs and problem details; <see cref="Build"/> uses it.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, int defaultPort)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddSsmSecrets();
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            var port = FirstPort(Environment.GetEnvironmentVariable("AWS_LWA_PORT"), Environment.GetEnvironmentVariable("PORT")) ?? defaultPort;
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        // One JSON object per line: CloudWatch and local logs read the same way.
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        // Per-request framework logs would double Lambda's log volume; our own events say what matters.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddProblemDetails();
        return builder;
    }

    /// <summary>Readiness for Lambda Web Adapter and the local stack.</summary>
    public static IEndpointConventionBuilder MapHealth(this WebApplication app) =>
        app.MapGet("/healthz", static context =>
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("ok");
        });

    /// <summary>The base address Kestrel actually bound (useful with port 0 in tests).</summary>
    public static Uri BoundAddress(this WebApplication app) =>
        new(app.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal)));

    private static int? FirstPort(params string?[] values)
    {
        foreach (var v in values)
            if (int.TryParse(v, out var port) && port is > 0 and < 65536) return port;
        return null;
    }
}
