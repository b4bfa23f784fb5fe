using Dapper;
using EcpayEvents.Ecpay;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Deposits;

/// <summary>Where ECPay is and where it should send the customer and its notifications.</summary>
public sealed record CheckoutSettings(
    EcpayCredentials Credentials,
    EcpayUrls Endpoints,
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
    /// <summary>
    /// The form was served before (ECPay refuses a MerchantTradeNo it has seen, so a second post would
    /// fail there): 409 with when it was sent, and the current status.
    /// </summary>
    AlreadyStarted,
}

/// <summary>
/// Builds the signed AioCheckOut/V5 form for a pending, unexpired deposit. ECPay accepts a
/// MerchantTradeNo only once, so the signed form (the self-submitting page or a script's JSON) is served
/// once: serving it records <c>checkout_started_at</c> with a conditional UPDATE (of two concurrent
/// visits exactly one gets the form); after that every request gets <see cref="CheckoutOutcome.AlreadyStarted"/>.
/// The same deposit always yields the same fields (MerchantTradeDate is the transaction's creation time).
/// </summary>
public sealed class StartCheckout(PaymentsDatabase database, DepositOptions options, TimeProvider time)
{
    public const string TradeDesc = "EcpayEvents deposit";

    /// <summary>
    /// The signed form, once: whoever gets it (the self-submitting page or a script's JSON) may send it to
    /// ECPay, which accepts a MerchantTradeNo only once, so the first request is recorded and later ones refused.
    /// </summary>
    /// <returns>With <see cref="CheckoutOutcome.AlreadyStarted"/> and Ready, when the form was first served.</returns>
    public async Task<(CheckoutOutcome Outcome, TransactionView? Deposit, CheckoutForm? Form, DateTimeOffset? StartedAt)> HandleAsync(
        long transactionId, CheckoutSettings settings, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TransactionRow>(GetTransaction.SelectColumns + " WHERE id = @transactionId AND type = 'deposit'", new { transactionId });
        if (row is null) return (CheckoutOutcome.NotFound, null, null, null);
        var deposit = row.ToView();
        if (DbTime.Utc(row.CheckoutStartedAt) is { } startedAt) return (CheckoutOutcome.AlreadyStarted, deposit, null, startedAt);
        if (deposit.Status != TransactionStatus.Pending) return (CheckoutOutcome.NotPending, deposit, null, null);
        if (deposit.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow()) return (CheckoutOutcome.Expired, deposit, null, null);

        var request = Request(deposit, settings, options.Expiry);
        var form = CheckoutForm.Create(request, settings.Credentials, settings.Endpoints, time);

        // Once: of concurrent visits only the one whose UPDATE marks the row gets the form.
        // updated_at = updated_at: updated_at says when the payment's state last changed, and this is not a change of
        // state (the polled view shows checkoutStartedAt, so its ETag does change).
        var now = DbTime.Microseconds(time.GetUtcNow());
        var marked = await connection.ExecuteAsync(
            "UPDATE transactions SET checkout_started_at = @now, updated_at = updated_at WHERE id = @transactionId AND checkout_started_at IS NULL AND status = 'pending'",
            new { transactionId, now = now.UtcDateTime });
        if (marked != 1)
        {
            var current = await connection.QuerySingleAsync<TransactionRow>(GetTransaction.SelectColumns + " WHERE id = @transactionId", new { transactionId });
            var other = DbTime.Utc(current.CheckoutStartedAt);
            return other is null ? (CheckoutOutcome.NotPending, current.ToView(), null, null) : (CheckoutOutcome.AlreadyStarted, current.ToView(), null, other);
        }
        return (CheckoutOutcome.Ready, deposit, form, now);
    }

    /// <summary>
    /// The AioCheckOut/V5 request for a pending deposit: what GET /checkout/{id} signs and serves. Pure,
    /// so the sandbox's tests validate exactly this mapping without a database.
    /// </summary>
    public static CheckoutRequest Request(TransactionView deposit, CheckoutSettings settings, DepositExpiryOptions expiryOptions)
    {
        var method = deposit.PaymentMethod ?? ChoosePayment.All;
        var expiry = EcpayExpiry(method, deposit.CreatedAt, deposit.ExpiresAt, expiryOptions);
        var isOffline = method is ChoosePayment.Atm or ChoosePayment.Cvs or ChoosePayment.Barcode or ChoosePayment.All;
        return new CheckoutRequest
        {
            MerchantTradeNo = deposit.MerchantTradeNo!,
            MerchantTradeDate = deposit.CreatedAt,
            TotalAmount = deposit.Amount,
            TradeDesc = TradeDesc,
            // A name stored before today's rule (one with '&' or '=' say) is not signed: the default describes the deposit.
            ItemName = deposit.ItemName is { } stored && DepositItemName.Problem(stored) is null ? stored : MerchantTradeNumber.Describe(deposit.Amount),
            ReturnUrl = settings.ReturnUrl,
            ChoosePayment = method,
            OrderResultUrl = settings.OrderResultUrl,
            ClientBackUrl = settings.ClientBackUrl,
            PaymentInfoUrl = isOffline ? settings.PaymentInfoUrl : null,
            ExpireDate = expiry.ExpireDate,
            StoreExpireDate = expiry.StoreExpireDate,
            CustomField1 = deposit.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// ECPay's ExpireDate / StoreExpireDate from the deposit's stored <c>expires_at</c> (not today's settings, which may
    /// have changed), rounded up so ECPay's deadline is never earlier than ours. ALL's ATM ExpireDate comes from the ATM setting.
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
