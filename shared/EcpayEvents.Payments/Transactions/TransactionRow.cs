namespace EcpayEvents.Payments.Transactions;

/// <summary>
/// A <c>transactions</c> row as Dapper reads it (each query selects the columns it needs; the rest keep their
/// defaults). Not private: Dapper.AOT generates its row reader outside the class that queries.
/// </summary>
internal sealed class TransactionRow
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public string Type { get; set; } = "";
    public long Amount { get; set; }
    public string Status { get; set; } = "";
    public string? MerchantTradeNo { get; set; }
    public string? PaymentMethod { get; set; }
    public string? ItemName { get; set; }
    public string? PaymentType { get; set; }
    public string? BankCode { get; set; }
    public string? VAccount { get; set; }
    public string? PaymentNo { get; set; }
    public string? Barcode1 { get; set; }
    public string? Barcode2 { get; set; }
    public string? Barcode3 { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime? PaidAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When the checkout form went to ECPay (StartCheckout).</summary>
    public DateTime? CheckoutStartedAt { get; set; }
    /// <summary>The TradeNo of the result that completed it.</summary>
    public string? EcpayTradeNo { get; set; }
    /// <summary>When QueryTradeInfo confirmed its credit.</summary>
    public DateTime? ConfirmedAt { get; set; }

    public TransactionView ToView()
    {
        var issued = BankCode ?? VAccount ?? PaymentNo ?? Barcode1;
        return new TransactionView(
            Id, UserId, Type, Amount, Status, MerchantTradeNo, PaymentMethod, ItemName, PaymentType,
            issued is null ? null : new PaymentInstructions(BankCode, VAccount, PaymentNo, Barcode1, Barcode2, Barcode3),
            DbTime.Utc(ExpiresAt), DbTime.Utc(PaidAt), DbTime.Utc(CreatedAt), DbTime.Utc(UpdatedAt), DbTime.Utc(CheckoutStartedAt));
    }
}
