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

    public static Task<SqsBatchResponse> HandleSqsBatch(SqsEvent batch, SettlementBatchHandler handler, CancellationToken ct)
        => handler.HandleAsync(batch, ct);
}
