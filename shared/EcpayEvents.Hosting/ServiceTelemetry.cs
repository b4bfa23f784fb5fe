using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EcpayEvents.Hosting;

/// <summary>
/// Logs, metrics and traces of a service, set up the same way for all four: JSON log lines
/// (<see cref="JsonLineLogFormatter"/>), EMF metric lines (<see cref="EmfMetrics"/>), and OpenTelemetry traces
/// exported over OTLP — only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured; otherwise nothing listens to
/// the activity sources and tracing costs nothing.
/// </summary>
public static class ServiceTelemetry
{
    /// <summary>Every activity source of ours is named <c>EcpayEvents.…</c> (e.g. the SQS publisher and batch handler's).</summary>
    public const string ActivitySourcePattern = "EcpayEvents.*";

    /// <summary>The setting (environment variable or configuration key) that turns tracing on.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static void AddServiceTelemetry(this WebApplicationBuilder builder, string service)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // One JSON object per line: CloudWatch and local logs read the same way.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.FormatterName = JsonLineLogFormatter.FormatterName);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, JsonLineLogFormatter>());
        // Per-request framework logs would double Lambda's log volume; our own events say what matters. HttpClient
        // writes four or five lines per call (QueryTradeInfo, Step Functions, JWKS): only its warnings count.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);

        builder.Services.TryAddSingleton(sp => new EmfMetrics(service, Console.Out, TimeProvider.System));

        if (string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting])) return;
        // OTEL_EXPORTER_OTLP_PROTOCOL (grpc by default; http/protobuf with the ADOT collector's 4318) and the other
        // OTEL_* settings are read by the exporter from configuration, so command-line arguments work too.
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("EcpayEvents." + service))
            .WithTracing(tracing => tracing
                .AddSource(ActivitySourcePattern, "Microsoft.AspNetCore", "System.Net.Http")
                .AddOtlpExporter());
    }
}
