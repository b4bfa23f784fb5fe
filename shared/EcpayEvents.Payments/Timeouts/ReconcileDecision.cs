using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Timeouts;

/// <summary>What to do next. Only <see cref="Answer"/> and <see cref="Fail"/> end a reconcile.</summary>
public abstract record ReconcileDecision
{
    private ReconcileDecision() { }

    /// <summary>Tell the state machine this (settled, or extend with a later expiresAt).</summary>
    public sealed record Answer(ReconcileAnswer Result, string Why) : ReconcileDecision;

    /// <summary>The ledger alone cannot decide: ask ECPay, then decide again with its answer.</summary>
    public sealed record AskEcpay : ReconcileDecision;

    /// <summary>ECPay says paid: put its answer on the payment-results queue for Settlement, answer paid.</summary>
    public sealed record EnqueuePaid(PaymentResult Trade) : ReconcileDecision;

    /// <summary>Not paid and past the deadline: expire the transaction if it is still pending (and not extended meanwhile).</summary>
    public sealed record Expire(string Why) : ReconcileDecision;

    /// <summary>ECPay confirms the completed deposit's credit: record when, answer confirmed.</summary>
    public sealed record Confirm(string Why) : ReconcileDecision;

    /// <summary>ECPay does not confirm the completed deposit's credit: set review_reason (the credit stays), answer unconfirmed.</summary>
    public sealed record FlagUnconfirmed(string ReviewReason) : ReconcileDecision;

    /// <summary>Cannot decide now: an error (HTTP 5xx), so the state machine retries and then goes to NeedsReview.</summary>
    public sealed record Fail(string ErrorType, string Message) : ReconcileDecision;
}
