using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Deposits;

/// <summary>Where ECPay is and where it should send the customer and its notifications.</summary>
public sealed record CheckoutSettings(
    EcpayCredentials Credentials,
    EcpayEndpoints Endpoints,
    string ReturnUrl,
    string? PaymentInfoUrl,
    string OrderResultUrl,
    string ClientBackUrl);

public enum CheckoutOutcome
{
    Ready,
    NotFound,
    /// <summary>Not pending any more (completed, failed or expired by settlement): 409.</summary>
    NotPending,
    /// <summary>Still pending but past its expiry (the timeout has not run yet): 410.</summary>
    Expired,
}

/// <summary>
/// Builds the signed AioCheckOut/V5 form for a pending, unexpired deposit. It reads only: the same
/// deposit always yields the same fields (MerchantTradeDate is the transaction's creation time).
/// </summary>
public sealed class StartCheckout(PaymentsDatabase database, DepositOptions options, TimeProvider time)
{
    public const string TradeDesc = "EcpayEvents deposit";

    public async Task<(CheckoutOutcome Outcome, TransactionView? Deposit, CheckoutForm? Form)> HandleAsync(long transactionId, CheckoutSettings settings, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(GetTransaction.SelectColumns + " WHERE id = @transactionId AND type = 'deposit'", new { transactionId });
        if (row is null) return (CheckoutOutcome.NotFound, null, null);
        var deposit = row.ToView();
        if (deposit.Status != TransactionStatus.Pending) return (CheckoutOutcome.NotPending, deposit, null);
        if (deposit.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow()) return (CheckoutOutcome.Expired, deposit, null);

        var method = deposit.PaymentMethod ?? ChoosePayment.All;
        var expiry = EcpayExpiry(method, deposit.CreatedAt, deposit.ExpiresAt, options.Expiry);
        var isOffline = method is ChoosePayment.Atm or ChoosePayment.Cvs or ChoosePayment.Barcode or ChoosePayment.All;
        var request = new CheckoutRequest
        {
            MerchantTradeNo = deposit.MerchantTradeNo!,
            MerchantTradeDate = deposit.CreatedAt,
            TotalAmount = deposit.Amount,
            TradeDesc = TradeDesc,
            ItemName = deposit.ItemName ?? MerchantTradeNumber.Describe(deposit.Amount),
            ReturnUrl = settings.ReturnUrl,
            ChoosePayment = method,
            OrderResultUrl = settings.OrderResultUrl,
            ClientBackUrl = settings.ClientBackUrl,
            PaymentInfoUrl = isOffline ? settings.PaymentInfoUrl : null,
            ExpireDate = expiry.ExpireDate,
            StoreExpireDate = expiry.StoreExpireDate,
            CustomField1 = deposit.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return (CheckoutOutcome.Ready, deposit, CheckoutForm.Create(request, settings.Credentials, settings.Endpoints, time));
    }

    /// <summary>
    /// ECPay's ExpireDate / StoreExpireDate for a deposit, from its stored <c>expires_at</c> (what its
    /// timeout waits for), not from today's settings — so a settings change between the deposit and
    /// its checkout cannot make ECPay's deadline and ours disagree. ECPay counts ATM and BARCODE in
    /// whole Taiwan days (ending 23:59:59 of the last one) and CVS in minutes; each is rounded up, so
    /// ECPay's deadline is never earlier than ours. ALL expires on the online deadline; its ATM
    /// ExpireDate (in case the customer picks ATM) comes from the ATM setting, and the timeout is
    /// extended to ECPay's ExpireDate when the number is issued.
    /// </summary>
    public static (int? ExpireDate, int? StoreExpireDate) EcpayExpiry(string method, DateTimeOffset createdAt, DateTimeOffset? expiresAt, DepositExpiryOptions options)
    {
        if (expiresAt is not { } end || method is not (ChoosePayment.Atm or ChoosePayment.Cvs or ChoosePayment.Barcode))
        {
            var fromSettings = DepositExpiry.For(method, createdAt, options);
            return (fromSettings.ExpireDate, fromSettings.StoreExpireDate);
        }
        var taiwanDays = (TaiwanTime.ToTaiwan(end).Date - TaiwanTime.ToTaiwan(createdAt).Date).Days;
        return method switch
        {
            ChoosePayment.Atm => (Math.Clamp(taiwanDays, 1, 60), null),
            ChoosePayment.Barcode => (null, Math.Clamp(taiwanDays, 1, 30)),
            // Minutes, rounded up; a millisecond of storage rounding is not another minute.
            _ => (null, (int)Math.Clamp(Math.Ceiling((end - createdAt).TotalMinutes - 0.0001), 1, 43_200)),
        };
    }
}
