namespace EcpayEvents.Payments.Timeouts;

/// <summary>The error types the Reconcile task reports (they appear as the error in the execution history).</summary>
public static class ReconcileErrors
{
    public const string InvalidInput = "Reconcile.InvalidInput";
    public const string TransactionNotFound = "Reconcile.TransactionNotFound";
    public const string TransactionMismatch = "Reconcile.TransactionMismatch";
    public const string EcpayUnavailable = "Reconcile.EcpayUnavailable";
    public const string EcpayThrottled = "Reconcile.EcpayThrottled";
    public const string EcpayBadAnswer = "Reconcile.EcpayBadAnswer";
    public const string UnknownTradeStatus = "Reconcile.UnknownTradeStatus";
    public const string AmountMismatch = "Reconcile.AmountMismatch";
    public const string NotYetExpired = "Reconcile.NotYetExpired";
    public const string Internal = "Reconcile.InternalError";
}
