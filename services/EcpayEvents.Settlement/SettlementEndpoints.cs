using EcpayEvents.Hosting;
using EcpayEvents.Messaging;

namespace EcpayEvents.Settlement;

public static class SettlementEndpoints
{
    public static IEndpointRouteBuilder MapSettlementEndpoints(this IEndpointRouteBuilder app)
    {
        // Lambda Web Adapter POSTs non-HTTP events (here: SQS batches) to /events.
        app.MapPost("/events", HandleSqsBatch);
        return app;
    }

    public static async Task<SqsBatchResponse> HandleSqsBatch(SqsEvent batch, SqsBatchHandler handler, EmfMetrics metrics, CancellationToken ct)
    {
        var response = await handler.HandleAsync(batch, ct);
        if (response.BatchItemFailures.Count > 0) metrics.Count(MetricNames.BatchItemFailures, count: response.BatchItemFailures.Count);
        return response;
    }
}
