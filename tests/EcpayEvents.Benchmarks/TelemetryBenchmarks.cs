using BenchmarkDotNet.Attributes;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EcpayEvents.Benchmarks;

/// <summary>What telemetry adds to one request or message: an EMF line, a JSON log line with its scope, a batch's scopes and spans with tracing off.</summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    private readonly EmfMetrics _metrics = new("Notifications", TextWriter.Null, TimeProvider.System);
    private readonly JsonLineLogFormatter _formatter = new();
    private readonly LoggerExternalScopeProvider _scopes = new();
    private readonly SqsBatchHandler _plain = new(new NoOp(), 4);
    private readonly SqsBatchHandler _scoped = new(new NoOp(), 4, NullLogger.Instance);
    private readonly SqsEvent _batch = new(Enumerable.Range(0, 10).Select(i => new SqsMessage($"m{i}", "r", "{}", null,
        new Dictionary<string, SqsMessageAttribute>
        {
            [PaymentResultPublisher.MerchantTradeNoAttribute] = new("EE0MWVO2NL1CBSNIOD5Z", null, "String"),
            [MessageTracing.TraceParentAttribute] = new("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null, "String"),
        }, null, "aws:sqs", null, null)).ToList());

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

    [Benchmark(Description = "SqsBatchHandler, 10 messages, no scope", Baseline = true)]
    public Task<SqsBatchResponse> BatchPlain() => _plain.HandleAsync(_batch);

    [Benchmark(Description = "SqsBatchHandler, 10 messages, with a logger (NullLogger: no scope cost) and tracing off")]
    public Task<SqsBatchResponse> BatchScoped() => _scoped.HandleAsync(_batch);

    private sealed class NoOp : ISqsMessageHandler
    {
        public Task HandleAsync(SqsMessage message, CancellationToken ct) => Task.CompletedTask;
    }
}
