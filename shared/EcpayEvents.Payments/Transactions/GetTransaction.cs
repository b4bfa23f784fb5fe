using System.Text.Json.Serialization;
using Dapper;
using EcpayEvents.Payments.Users;

namespace EcpayEvents.Payments.Transactions;

/// <summary>What ATM/CVS/BARCODE issuing returned: where and how the customer can still pay.</summary>
public sealed record PaymentInstructions(
    [property: JsonPropertyName("bankCode")] string? BankCode,
    [property: JsonPropertyName("vAccount")] string? VAccount,
    [property: JsonPropertyName("paymentNo")] string? PaymentNo,
    [property: JsonPropertyName("barcode1")] string? Barcode1,
    [property: JsonPropertyName("barcode2")] string? Barcode2,
    [property: JsonPropertyName("barcode3")] string? Barcode3);

/// <summary>
/// A deposit or withdrawal as the frontend polls it. Status only ever comes from the ledger; <c>isFinal</c> says
/// it will not change any more (an expired or failed deposit can still be completed by a late payment for a while).
/// <c>checkoutStartedAt</c>: when the signed checkout form was served (null: the checkout link still leads to ECPay).
/// </summary>
public sealed record TransactionView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("userId")] long UserId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("merchantTradeNo")] string? MerchantTradeNo,
    [property: JsonPropertyName("paymentMethod")] string? PaymentMethod,
    [property: JsonPropertyName("itemName")] string? ItemName,
    [property: JsonPropertyName("paymentType")] string? PaymentType,
    [property: JsonPropertyName("paymentInstructions")] PaymentInstructions? PaymentInstructions,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset? ExpiresAt,
    [property: JsonPropertyName("paidAt")] DateTimeOffset? PaidAt,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("checkoutStartedAt")] DateTimeOffset? CheckoutStartedAt = null)
{
    /// <summary>From when the status can no longer change; null while it can (pending). See <see cref="TransactionFinality"/>.</summary>
    [JsonPropertyName("finalAt")]
    public DateTimeOffset? FinalAt => TransactionFinality.FinalAt(Type, Status, UpdatedAt);

    /// <summary>The status will never change again: stop polling.</summary>
    [JsonPropertyName("isFinal")]
    public bool IsFinal => FinalAt is { } at && at <= DateTimeOffset.UtcNow;
}

/// <summary>One transaction by id or by MerchantTradeNo; the pending deposits.</summary>
public sealed class GetTransaction(PaymentsDatabase database)
{
    internal const string SelectColumns = """
        SELECT id AS Id, user_id AS UserId, type AS Type, amount AS Amount, status AS Status,
               merchant_trade_no AS MerchantTradeNo, payment_method AS PaymentMethod, item_name AS ItemName,
               payment_type AS PaymentType, bank_code AS BankCode, v_account AS VAccount, payment_no AS PaymentNo,
               barcode1 AS Barcode1, barcode2 AS Barcode2, barcode3 AS Barcode3,
               expires_at AS ExpiresAt, paid_at AS PaidAt, created_at AS CreatedAt, updated_at AS UpdatedAt,
               checkout_started_at AS CheckoutStartedAt
        FROM transactions
        """;

    /// <summary>Null when it does not exist or is not the caller's (operators read any).</summary>
    public async Task<TransactionView?> ByIdAsync(Caller caller, long id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(
            SelectColumns + " WHERE id = @id AND (@isOperator OR user_id = (SELECT u.id FROM users u WHERE u.sub = @sub))",
            new { id, isOperator = caller.IsOperator, sub = caller.Sub });
        return row?.ToView();
    }

    public async Task<TransactionView?> ByMerchantTradeNoAsync(string merchantTradeNo, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(SelectColumns + " WHERE merchant_trade_no = @merchantTradeNo", new { merchantTradeNo });
        return row?.ToView();
    }

    /// <summary>The pending deposits (those with a MerchantTradeNo), oldest first.</summary>
    public async Task<IReadOnlyList<TransactionView>> PendingDepositsAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<TransactionRow>(SelectColumns + " WHERE type = 'deposit' AND status = 'pending' AND merchant_trade_no IS NOT NULL ORDER BY id");
        return rows.Select(r => r.ToView()).ToList();
    }
}
