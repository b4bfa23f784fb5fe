using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Notifications;
using EcpayEvents.Testing;
using EcpayEvents.Timeouts;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Settlement.Tests;

/// <summary>What the services tell operators: EMF metric lines, JSON log lines, traces across the queue, event ids.</summary>
public sealed class TelemetryTests
{
    private static readonly string[] Units = ["Count", "Milliseconds"];

    [Fact]
    public async Task TheEmfLinesParseAsEmfAndCountAcceptedRejectedSettledAndTheSettleLag()
    {
        await using var s = await SettlementStack.StartAsync("telemetryemf");
        var paid = await s.SeedDepositAsync(amount: 500);
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500));
        var wrongAmount = await s.SeedDepositAsync(amount: 500);
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(wrongAmount.MerchantTradeNo, 400));
        var forged = SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500);
        forged["TradeAmt"] = "5000";
        await s.PostAsync("/ecpay/return", EcpayForm.ToFormBody(forged));
        await s.WaitForQueueDrainedAsync();
        await Poll.UntilAsync(() => s.Telemetry.MetricLines.Any(l => l.Contains(MetricNames.SettleLag, StringComparison.Ordinal)), "the settle lag");

        var lines = s.Telemetry.Metrics;
        foreach (var line in lines) AssertEmf(line);
        Assert.Contains(lines, l => Value(l, MetricNames.NotificationAccepted, MetricNames.SourceDimension) == (1, "ReturnURL"));
        Assert.Contains(lines, l => Value(l, MetricNames.NotificationRejected, MetricNames.ReasonDimension) == (1, RejectReason.CheckMacValue));
        Assert.Contains(lines, l => Value(l, MetricNames.SettlementOutcome, MetricNames.OutcomeDimension) == (1, "credited"));
        Assert.Contains(lines, l => Value(l, MetricNames.SettlementOutcome, MetricNames.OutcomeDimension) == (1, "rejected"));
        Assert.Contains(lines, l => l.TryGetProperty(MetricNames.NeedsAttention, out _));
        var lag = Assert.Single(lines, l => l.TryGetProperty(MetricNames.SettleLag, out _)).GetProperty(MetricNames.SettleLag).GetDouble();
        Assert.InRange(lag, 0, 60_000);
        Assert.All(lines, l => Assert.DoesNotContain(paid.MerchantTradeNo, l.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public void ABatchOfDurationsIsOneLineWithAnArrayOfValuesAndAtMostAHundredPerLine()
    {
        var output = new StringWriter();
        var metrics = new EmfMetrics("Settlement", output, TimeProvider.System);

        metrics.Milliseconds(MetricNames.SettleLag, [.. Enumerable.Range(1, 130).Select(i => (double)i)]);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        foreach (var line in lines) AssertEmf(line);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (double)i), lines[0].GetProperty(MetricNames.SettleLag).EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(Enumerable.Range(101, 30).Select(i => (double)i), lines[1].GetProperty(MetricNames.SettleLag).EnumerateArray().Select(v => v.GetDouble()));
    }

    [Fact]
    public async Task QueryTradeInfoAnswersAndEcpays403sAreCounted()
    {
        var output = new StringWriter();
        var metrics = new EmfMetrics(TimeoutsApp.ServiceName, output, TimeProvider.System);
        QueryTradeInfoResult next = new QueryTradeInfoResult.Throttled("403");
        var query = MeasuredQueryTradeInfo.Wrap((_, _) => Task.FromResult(next), metrics);

        await query("T1", default);
        next = new QueryTradeInfoResult.Throttled("403") { WithoutRequest = true };
        await query("T1", default);
        next = new QueryTradeInfoResult.TimedOut("slow");
        await query("T1", default);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var line in lines) AssertEmf(line);
        Assert.Equal(
            ["QueryTradeInfoAnswer Throttled", "QueryTradeInfoThrottled ", "QueryTradeInfoAnswer CoolDown", "QueryTradeInfoAnswer TimedOut"],
            lines.Select(l => MetricName(l) + " " + (l.TryGetProperty(MetricNames.AnswerDimension, out var a) ? a.GetString() : "")));
        Assert.All(lines, l => Assert.Equal("Timeouts", l.GetProperty(MetricNames.ServiceDimension).GetString()));
    }

    [Fact]
    public async Task JsonLogLinesCarryTheMerchantTradeNoAndTheSqsMessageIdWithTheMessageWrittenOnce()
    {
        await using var s = await SettlementStack.StartAsync("telemetrylog", logLevel: "Information");
        var paid = await s.SeedDepositAsync(amount: 500);
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500));
        await s.WaitForQueueDrainedAsync();
        await Poll.UntilAsync(() => s.Telemetry.LogLines.Any(l => l.Contains("\"EventId\":1101", StringComparison.Ordinal)), "the settled line");

        var lines = s.Telemetry.Logs;
        var enqueued = Assert.Single(lines, l => l.GetProperty("EventId").GetInt32() == 1001);
        var settled = Assert.Single(lines, l => l.GetProperty("EventId").GetInt32() == 1101);
        Assert.Equal(paid.MerchantTradeNo, enqueued.GetProperty("MerchantTradeNo").GetString());
        Assert.Equal(paid.MerchantTradeNo, settled.GetProperty("MerchantTradeNo").GetString());
        // The SQS message id Notifications logged is the one Settlement's line (and its scope) carries.
        Assert.Equal(enqueued.GetProperty("MessageId").GetString(), settled.GetProperty("MessageId").GetString());
        foreach (var line in lines)
        {
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line.GetProperty("Timestamp").GetString());
            Assert.False(line.TryGetProperty("State", out _));
            Assert.False(line.TryGetProperty("{OriginalFormat}", out _));
            Assert.Equal(1, line.EnumerateObject().Count(p => p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() == line.GetProperty("Message").GetString()));
        }
        // Settlement's lines for that message, whatever logged them, are in its scope.
        Assert.All(lines.Where(l => l.GetProperty("Category").GetString()!.StartsWith("EcpayEvents.Settlement", StringComparison.Ordinal) && l.TryGetProperty("MessageId", out _)),
            l => Assert.Equal(paid.MerchantTradeNo, l.GetProperty("MerchantTradeNo").GetString()));
    }

    [Fact]
    public async Task ATraceIdCrossesTheQueueFromTheEcpayPostToSettlement()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        string[] tracing = [$"--OTEL_EXPORTER_OTLP_ENDPOINT={otlp.Endpoint}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_BSP_SCHEDULE_DELAY=200"];
        await using var s = await SettlementStack.StartAsync("telemetrytrace", notificationsArgs: tracing, settlementArgs: tracing);
        var paid = await s.SeedDepositAsync(amount: 500);

        // The caller's trace: ECPay sends none, but a test can, and then knows the trace id to look for.
        using var caller = new Activity("ecpay post").SetIdFormat(ActivityIdFormat.W3C);
        caller.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        caller.Start();
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(paid.MerchantTradeNo, 500));
        caller.Stop();
        var traceId = caller.TraceId.ToHexString();
        await s.WaitForQueueDrainedAsync();
        Assert.Equal(500, await s.BalanceAsync(paid.UserId));

        OtlpSpan? producer = null, consumer = null;
        await Poll.UntilAsync(() =>
        {
            var spans = otlp.Spans.Where(x => x.TraceId == traceId).ToList();
            producer = spans.FirstOrDefault(x => x.Name == "payment-results publish" && x.Kind == OtlpSpan.Producer);
            consumer = spans.FirstOrDefault(x => x.Name == "payment-results process" && x.Kind == OtlpSpan.Consumer);
            return producer is not null && consumer is not null;
        }, $"the publish and process spans of trace {traceId} at the OTLP receiver", TimeSpan.FromSeconds(60),
            () => string.Join(", ", otlp.Spans.Select(x => $"{x.Name} {x.TraceId}")));
        // Settlement's span is the child of Notifications' publish: the context came through the message attribute.
        Assert.Equal(producer!.SpanId, consumer!.ParentSpanId);
        Assert.Contains(otlp.Spans, x => x.TraceId == traceId && x.Kind == OtlpSpan.Server); // Notifications' POST /ecpay/return
    }

    [Fact]
    public void EveryLogEventOfEveryServiceHasAFixedIdUniqueInThatService()
    {
        // Ids are documented (README) and filtered on (CloudWatch): a generated id would change with a rename.
        Dictionary<string, Assembly> services = new()
        {
            [NotificationsApp.ServiceName] = typeof(NotificationsApp).Assembly,
            [SettlementApp.ServiceName] = typeof(SettlementApp).Assembly,
            [TimeoutsApp.ServiceName] = typeof(TimeoutsApp).Assembly,
            [PaymentsApi.PaymentsApiApp.ServiceName] = typeof(PaymentsApi.PaymentsApiApp).Assembly,
        };
        var problems = new List<string>();
        foreach (var (service, assembly) in services)
        {
            var events = OurAssemblies(assembly)
                .SelectMany(a => a.GetTypes())
                .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
                .Where(e => e.Attribute is not null)
                .ToList();
            Assert.NotEmpty(events);
            problems.AddRange(events.Where(e => e.Attribute!.EventId <= 0).Select(e => $"{service}: {e.Method} has no fixed EventId"));
            // 3101 "operator attention" is one id on purpose: Settlement's and Reconcile's, so one filter finds both.
            problems.AddRange(events.Where(e => e.Attribute!.EventId is > 0 and not 3101).GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1)
                .Select(g => $"{service}: EventId {g.Key} is used by {string.Join(", ", g.Select(e => e.Method))}"));
        }
        Assert.Empty(problems);
        // The ids the README names.
        Assert.Equal(4001, NotificationsEndpoints.SecurityRejectedEventId);
    }

    private static IEnumerable<Assembly> OurAssemblies(Assembly service)
    {
        var seen = new Dictionary<string, Assembly> { [service.GetName().Name!] = service };
        var pending = new Queue<Assembly>([service]);
        while (pending.TryDequeue(out var a))
            foreach (var name in a.GetReferencedAssemblies().Where(n => n.Name!.StartsWith("EcpayEvents.", StringComparison.Ordinal)))
                if (!seen.ContainsKey(name.Name!)) pending.Enqueue(seen[name.Name!] = Assembly.Load(name));
        return seen.Values;
    }

    /// <summary>An EMF line as CloudWatch reads it: _aws.Timestamp, CloudWatchMetrics with our namespace, every dimension and metric value present at the top level.</summary>
    private static void AssertEmf(JsonElement line)
    {
        var aws = line.GetProperty("_aws");
        Assert.True(aws.GetProperty("Timestamp").GetInt64() > 1_600_000_000_000);
        var directive = Assert.Single(aws.GetProperty("CloudWatchMetrics").EnumerateArray());
        Assert.Equal(MetricNames.Namespace, directive.GetProperty("Namespace").GetString());
        var dimensionSets = directive.GetProperty("Dimensions").EnumerateArray().ToList();
        Assert.NotEmpty(dimensionSets);
        foreach (var set in dimensionSets)
        {
            var names = set.EnumerateArray().Select(d => d.GetString()!).ToList();
            Assert.InRange(names.Count, 1, 30);
            Assert.Contains(MetricNames.ServiceDimension, names);
            Assert.All(names, n => Assert.False(string.IsNullOrEmpty(line.GetProperty(n).GetString())));
        }
        var metrics = directive.GetProperty("Metrics").EnumerateArray().ToList();
        Assert.NotEmpty(metrics);
        foreach (var metric in metrics)
        {
            var name = metric.GetProperty("Name").GetString()!;
            Assert.Contains(name, MetricNames.All);
            Assert.Contains(metric.GetProperty("Unit").GetString(), Units);
            // A number, or EMF's array of values (1–100 numbers).
            var value = line.GetProperty(name);
            if (value.ValueKind == JsonValueKind.Array)
            {
                Assert.InRange(value.GetArrayLength(), 1, EmfMetrics.MaxValuesPerLine);
                Assert.All(value.EnumerateArray(), v => Assert.Equal(JsonValueKind.Number, v.ValueKind));
            }
            else
            {
                Assert.Equal(JsonValueKind.Number, value.ValueKind);
            }
        }
    }

    private static string MetricName(JsonElement line) =>
        line.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics")[0].GetProperty("Name").GetString()!;

    private static (double, string?) Value(JsonElement line, string metric, string dimension) =>
        line.TryGetProperty(metric, out var v) ? (v.GetDouble(), line.TryGetProperty(dimension, out var d) ? d.GetString() : null) : (-1, null);
}
