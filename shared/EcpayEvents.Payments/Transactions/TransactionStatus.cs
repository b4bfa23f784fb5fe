namespace EcpayEvents.Payments.Transactions;

/// <summary>The values of <c>transactions.status</c>, as stored and as the API shows them.</summary>
public static class TransactionStatus
{
    public const string Pending = "pending";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Expired = "expired";

    public static IReadOnlyList<string> All { get; } = [Pending, Completed, Failed, Expired];
}
