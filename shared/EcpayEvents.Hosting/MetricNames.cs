namespace EcpayEvents.Hosting;

/// <summary>
/// Every CloudWatch metric the services write (as EMF lines, see <see cref="EmfMetrics"/>): the one list that
/// template.yaml's dashboard and alarms are checked against. Dimensions stay small and bounded: the service, and at
/// most one of a fixed set of reasons, sources, outcomes or answers — never an order number.
/// </summary>
public static class MetricNames
{
    public const string Namespace = "EcpayEvents";

    /// <summary>Dimension present on every metric: the service's short name (Notifications, Settlement, Timeouts, PaymentsApi).</summary>
    public const string ServiceDimension = "Service";

    /// <summary>Notifications: a post verified and enqueued (dimension <see cref="SourceDimension"/>).</summary>
    public const string NotificationAccepted = "NotificationAccepted";

    /// <summary>Notifications: a post refused with 4xx (dimension <see cref="ReasonDimension"/>, a fixed set).</summary>
    public const string NotificationRejected = "NotificationRejected";

    /// <summary>Notifications: a verified post answered 503 because SQS did not take it (ECPay re-sends).</summary>
    public const string NotificationEnqueueFailed = "NotificationEnqueueFailed";

    /// <summary>Settlement: one per message settled (dimension <see cref="OutcomeDimension"/>: credited, rejected, duplicate, …).</summary>
    public const string SettlementOutcome = "SettlementOutcome";

    /// <summary>Settlement: milliseconds from the post's receipt (Notifications or Reconcile) to the credit.</summary>
    public const string SettleLag = "SettleLag";

    /// <summary>Settlement: messages of a batch that failed and go back to the queue (towards the DLQ).</summary>
    public const string BatchItemFailures = "BatchItemFailures";

    /// <summary>Settlement and Timeouts: a result an operator must look at (review flag, rejected paid result, late credit…).</summary>
    public const string NeedsAttention = "NeedsAttention";

    /// <summary>Timeouts: one per QueryTradeInfo call (dimension <see cref="AnswerDimension"/>: Paid, Unpaid, Throttled, Unavailable, …).</summary>
    public const string QueryTradeInfoAnswer = "QueryTradeInfoAnswer";

    /// <summary>Timeouts: ECPay answered 403 (its "too frequent" block; a cool-down answer without a request is not counted).</summary>
    public const string QueryTradeInfoThrottled = "QueryTradeInfoThrottled";

    /// <summary>Timeouts: one per Reconcile task (dimension <see cref="OutcomeDimension"/>: expired, paid, confirmed, … or the error type).</summary>
    public const string ReconcileOutcome = "ReconcileOutcome";

    public const string SourceDimension = "Source";
    public const string ReasonDimension = "Reason";
    public const string OutcomeDimension = "Outcome";
    public const string AnswerDimension = "Answer";

    /// <summary>Every metric name above.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        NotificationAccepted, NotificationRejected, NotificationEnqueueFailed,
        SettlementOutcome, SettleLag, BatchItemFailures, NeedsAttention,
        QueryTradeInfoAnswer, QueryTradeInfoThrottled, ReconcileOutcome,
    ];
}
