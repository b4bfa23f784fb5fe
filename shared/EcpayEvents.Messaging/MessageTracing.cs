using System.Diagnostics;
using Amazon.SQS.Model;

namespace EcpayEvents.Messaging;

/// <summary>
/// A trace that crosses the payment-results queue: the publisher puts the current W3C trace context in the
/// message attribute <see cref="TraceParentAttribute"/> (SQS keeps message attributes, and Lambda's SQS event
/// and the local event-source runner both hand them on), and the consumer starts its span as that context's child.
/// The activities exist only while something listens (OpenTelemetry when an OTLP endpoint is configured).
/// </summary>
public static class MessageTracing
{
    public const string SourceName = "EcpayEvents.Messaging";

    /// <summary>The W3C traceparent of the publishing span, <c>00-&lt;trace id&gt;-&lt;span id&gt;-&lt;flags&gt;</c>.</summary>
    public const string TraceParentAttribute = "traceparent";

    public const string QueueName = "payment-results";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>A producer span for one SendMessage (null when nobody listens).</summary>
    internal static Activity? StartPublish(string? merchantTradeNo)
    {
        var activity = Source.StartActivity(QueueName + " publish", ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "aws_sqs");
            activity.SetTag("messaging.destination.name", QueueName);
            activity.SetTag("messaging.operation.type", "send");
            if (merchantTradeNo is not null) activity.SetTag("ecpay.merchant_trade_no", merchantTradeNo);
        }
        return activity;
    }

    /// <summary>Carries the current trace (if any) in <paramref name="attributes"/>: about 60 bytes, whether or not spans are recorded.</summary>
    internal static void Inject(Dictionary<string, MessageAttributeValue> attributes)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C, Id: { } id })
            attributes[TraceParentAttribute] = new() { DataType = "String", StringValue = id };
    }

    /// <summary>A consumer span for one message, the child of the trace it was published in, linked to the batch's request.</summary>
    public static Activity? StartProcess(SqsMessage message)
    {
        if (!Source.HasListeners()) return null;
        ActivityContext.TryParse(message.MessageAttributes?.GetValueOrDefault(TraceParentAttribute)?.StringValue, null, isRemote: true, out var parent);
        IEnumerable<ActivityLink>? links = Activity.Current is { } batch ? [new ActivityLink(batch.Context)] : null;
        var activity = Source.StartActivity(QueueName + " process", ActivityKind.Consumer, parent, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "aws_sqs");
            activity.SetTag("messaging.destination.name", QueueName);
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.message.id", message.MessageId);
            if (MerchantTradeNo(message) is { } merchantTradeNo) activity.SetTag("ecpay.merchant_trade_no", merchantTradeNo);
        }
        return activity;
    }

    /// <summary>The order a message concerns, from its attribute (set by <see cref="PaymentResultPublisher"/>), without parsing the body.</summary>
    public static string? MerchantTradeNo(SqsMessage message) =>
        message.MessageAttributes?.GetValueOrDefault(PaymentResultPublisher.MerchantTradeNoAttribute)?.StringValue;
}
