using BenchmarkDotNet.Attributes;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Benchmarks;

/// <summary>What telemetry adds to one request or message: an EMF line, a JSON log line with its message scope.</summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    private readonly EmfMetrics _metrics = new("Notifications", TextWriter.Null, TimeProvider.System);
    private readonly JsonLineLogFormatter _formatter = new();
    private readonly LoggerExternalScopeProvider _scopes = new();

    private static readonly Func<IReadOnlyList<KeyValuePair<string, object?>>, Exception?, string> Format = static (state, _) =>
        $"Settled message {state[0].Value} MerchantTradeNo={state[1].Value} Source=ReturnURL: credited";

    private readonly KeyValuePair<string, object?>[] _state =
    [
        new("MessageId", "5fea7756-0ea4-451a-a703-a558b933e274"), new("MerchantTradeNo", "EE0MWVO2NL1CBSNIOD5Z"),
        new("Source", "ReturnURL"), new("Outcome", "credited"), new("TransactionId", 42L),
        new("{OriginalFormat}", "Settled message {MessageId} MerchantTradeNo={MerchantTradeNo} Source={Source}: {Outcome}"),
    ];

    [Benchmark(Description = "EmfMetrics.Count (one line, one dimension)")]
    public void EmfCount() => _metrics.Count(MetricNames.NotificationRejected, MetricNames.ReasonDimension, "CheckMacValue");

    [Benchmark(Description = "JsonLineLogFormatter.Write (settled line, message scope)")]
    public void LogLine()
    {
        using var scope = _scopes.Push(new MessageLogScope("5fea7756-0ea4-451a-a703-a558b933e274", "EE0MWVO2NL1CBSNIOD5Z"));
        _formatter.Write(new Microsoft.Extensions.Logging.Abstractions.LogEntry<IReadOnlyList<KeyValuePair<string, object?>>>(
            LogLevel.Information, "EcpayEvents.Settlement.SettlementBatchHandler", new EventId(1101), _state, null, Format), _scopes, TextWriter.Null);
    }
}
