namespace EcpayEvents.Payments.Transactions;

/// <summary>The values of <c>transactions.type</c>.</summary>
public static class TransactionType
{
    public const string Deposit = "deposit";
    public const string Withdrawal = "withdrawal";

    public static IReadOnlyList<string> All { get; } = [Deposit, Withdrawal];
}
