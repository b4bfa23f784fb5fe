using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Timeouts;

/// <summary>
/// The reconcile decision, as one pure function: (timer input, ledger row, ECPay's answer, now) → what to do when
/// a payment's timer fires. Every rule about expiry is here: what expires a pending deposit, what extends its
/// deadline, what enqueues a payment only QueryTradeInfo found, and when a completed deposit's credit is confirmed
/// or flagged. <see cref="ReconcilePayment"/> only loads, asks ECPay when told to, and writes.
/// </summary>
public static class ReconcileRules
{
    /// <summary>
    /// A deadline counts as moved only when it is this much later than the timer's: the execution input
    /// carries milliseconds, the ledger microseconds, and a rounding difference must not loop the timer.
    /// </summary>
    public static readonly TimeSpan ExtensionThreshold = TimeSpan.FromSeconds(1);

    /// <summary>A timer may fire a little early (clock skew between Step Functions and us); earlier than this is a bug.</summary>
    public static readonly TimeSpan EarlyTolerance = TimeSpan.FromSeconds(5);

    /// <param name="input">The execution's state: which transaction, and the deadline the timer waited for.</param>
    /// <param name="transaction">The ledger row by id; null when there is none.</param>
    /// <param name="ecpay">ECPay's answer; null before it was asked.</param>
    /// <param name="confirmation">Whether and when a completed deposit is confirmed with ECPay; off by default.</param>
    /// <param name="lag">How late ECPay may report a payment under way, per payment type; none by default.</param>
    public static ReconcileDecision Decide(PaymentTimeoutInput input, TimedTransaction? transaction, QueryTradeInfoResult? ecpay, DateTimeOffset now,
        CreditConfirmation? confirmation = null, ReportingLag? lag = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        confirmation ??= CreditConfirmation.Off;
        lag ??= ReportingLag.None;
        // Not for confirming a credit: there an unsigned answer stays an error (retried, then an operator).
        var answer = UnsignedNotFoundAsAnswer(ecpay, input.MerchantTradeNo);

        // The deposit schedules its timer just before COMMIT: before the deadline a missing row is retried (the
        // COMMIT lands). Past it, the deposit was rolled back after StartExecution succeeded (e.g. the client
        // timed out): ECPay is asked, and if it never saw a payment the timer ends quietly (abandoned).
        if (transaction is null)
        {
            if (now < input.ExpiresAt - EarlyTolerance)
                return new ReconcileDecision.Fail(ReconcileErrors.TransactionNotFound, $"transaction {input.TransactionId} ({input.MerchantTradeNo}) does not exist (yet)");
            if (answer is null)
                return new ReconcileDecision.AskEcpay();
            return answer switch
            {
                QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.NotFound or TradeStatus.NeverChosePaymentMethod, Trade: var none } =>
                    new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Abandoned),
                        $"transaction {input.TransactionId} does not exist and ECPay never saw a payment (TradeStatus {none.Code}): the deposit was rolled back after its timer started"),
                QueryTradeInfoResult.Answered { Trade: var known } =>
                    // Money may arrive (or did) for an order the ledger does not have: an operator must look.
                    new ReconcileDecision.Fail(ReconcileErrors.TransactionNotFound,
                        $"transaction {input.TransactionId} ({input.MerchantTradeNo}) does not exist, but ECPay knows the order: TradeStatus {known.Code} ({known.Status}), TradeNo '{known.TradeNo}'"),
                _ => EcpayFailed(answer),
            };
        }
        if (!string.Equals(transaction.MerchantTradeNo, input.MerchantTradeNo, StringComparison.Ordinal) || transaction.Type != Transactions.TransactionType.Deposit)
            return new ReconcileDecision.Fail(ReconcileErrors.TransactionMismatch,
                $"transaction {transaction.Id} is a {transaction.Type} with MerchantTradeNo '{transaction.MerchantTradeNo}', not the deposit '{input.MerchantTradeNo}'");
        if (transaction.Status == Transactions.TransactionStatus.Completed && confirmation.Enabled)
            return ConfirmCredit(input, transaction, ecpay, now, confirmation);
        if (transaction.IsFinal)
            return Settled($"transaction is already {transaction.Status}");
        ecpay = answer;

        if (ecpay is null)
            return new ReconcileDecision.AskEcpay();

        // Paid wins over everything: money received is credited, whatever the deadline says.
        if (ecpay is QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var paid })
        {
            return paid.TradeAmt == transaction.Amount
                ? new ReconcileDecision.EnqueuePaid(paid)
                // Settlement would reject it and the transaction would stay pending with no timer left: an operator must look.
                : new ReconcileDecision.Fail(ReconcileErrors.AmountMismatch,
                    $"ECPay says paid {paid.TradeAmt} TWD (TradeNo {paid.TradeNo}), the transaction is {transaction.Amount} TWD");
        }

        // A later deadline (PaymentInfoURL: ATM/CVS/BARCODE number issued) means wait, whatever else ECPay
        // said or whether it answered at all: waiting decides nothing, and ECPay is asked again then.
        if (transaction.ExpiresAt is { } moved && moved > input.ExpiresAt + ExtensionThreshold)
            return new ReconcileDecision.Answer(ReconcileAnswer.ExtendTo(input, moved),
                $"deadline moved to {moved:O} (payment number issued)");

        switch (ecpay)
        {
            case QueryTradeInfoResult.Answered { Trade: var trade }:
                if (trade.Status == TradeStatus.Unknown)
                    // Never paid, never final: ask again later (and an operator after the retries).
                    return new ReconcileDecision.Fail(ReconcileErrors.UnknownTradeStatus, $"ECPay answered TradeStatus {trade.Code}, which this system does not know");
                if (now < input.ExpiresAt - EarlyTolerance)
                    return new ReconcileDecision.Fail(ReconcileErrors.NotYetExpired, $"woke up at {now:O}, before the deadline {input.ExpiresAt:O}");
                // A payment under way (number issued, BNPL applied) may be reported late: wait that long past the deadline, once.
                if (trade.Status == TradeStatus.Unpaid && transaction.ExpiresAt is { } deadline && lag.For(transaction.PaymentType) is var wait && wait > TimeSpan.Zero
                    && deadline + wait > input.ExpiresAt + ExtensionThreshold)
                    return new ReconcileDecision.Answer(ReconcileAnswer.ExtendTo(input, deadline + wait),
                        $"ECPay says unpaid, but reports {transaction.PaymentType} payments up to {wait} late: asking again at {deadline + wait:O}");
                return new ReconcileDecision.Expire(trade.Status switch
                {
                    TradeStatus.Unpaid => "ECPay: created, not paid (TradeStatus 0) and past the deadline",
                    TradeStatus.NeverChosePaymentMethod => "ECPay: the customer never chose a payment method (TradeStatus 10200095)",
                    TradeStatus.NotFound when trade.Fields.Count == 0 => "ECPay: order not found (unsigned TradeStatus 10200047): checkout never reached ECPay",
                    TradeStatus.NotFound => "ECPay: order not found (TradeStatus 10200047): checkout never reached ECPay",
                    _ => throw new ArgumentOutOfRangeException(nameof(ecpay), trade.Status, null),
                });
            default:
                return EcpayFailed(ecpay);
        }
    }

    /// <summary>
    /// A completed deposit: confirmed when ECPay says paid with the same amount and TradeNo (asked once, at least
    /// <see cref="CreditConfirmation.FirstLookAfterCredit"/> after the credit, or an answer Settlement recorded);
    /// otherwise flagged for review. Never a balance change: an operator decides about a flagged credit.
    /// </summary>
    private static ReconcileDecision ConfirmCredit(PaymentTimeoutInput input, TimedTransaction transaction, QueryTradeInfoResult? ecpay, DateTimeOffset now,
        CreditConfirmation confirmation)
    {
        var credit = transaction.Credit ?? new CreditEvidence(null, null, null, false, []);
        if (credit.ConfirmedAt is { } confirmedAt)
            return new ReconcileDecision.Answer(new ReconcileAnswer(ReconcileOutcome.Confirmed), $"credit already confirmed by QueryTradeInfo at {confirmedAt:O}");
        if (credit.SimulatedResultSeen)
            return new ReconcileDecision.FlagUnconfirmed("credit not confirmable: a SimulatePaid=1 result was recorded and QueryTradeInfo cannot tell it from a payment; check ECPay");
        if (credit.PaidQueryAnswers.FirstOrDefault(a => Confirms(a.TradeNo, a.TradeAmt, transaction, credit)) is { } recorded)
            return new ReconcileDecision.Confirm($"a recorded QueryTradeInfo answer says paid {recorded.TradeAmt} TWD, TradeNo {recorded.TradeNo}");

        if (ecpay is null)
        {
            if (LaterLook(credit.CreditedAt, confirmation.FirstLookAfterCredit, input, now) is { } firstLook)
                return new ReconcileDecision.Answer(ReconcileAnswer.ExtendTo(input, firstLook),
                    $"credited at {credit.CreditedAt:O}: confirming it with QueryTradeInfo at {firstLook:O}");
            return new ReconcileDecision.AskEcpay();
        }
        switch (ecpay)
        {
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var paid } when Confirms(paid.TradeNo, paid.TradeAmt, transaction, credit):
                return new ReconcileDecision.Confirm($"QueryTradeInfo says paid {paid.TradeAmt} TWD, TradeNo {paid.TradeNo}");
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Paid, Trade: var other }:
                return new ReconcileDecision.FlagUnconfirmed(
                    $"credit not confirmed: QueryTradeInfo says paid {other.TradeAmt} TWD, TradeNo '{other.TradeNo}'; credited {transaction.Amount} TWD, TradeNo '{credit.EcpayTradeNo}'");
            case QueryTradeInfoResult.Answered { Trade.Status: TradeStatus.Unpaid } when LaterLook(credit.CreditedAt, confirmation.UnpaidLookAgainAfterCredit, input, now) is { } again:
                // ECPay: TradeStatus 0 can mean the bank has not answered yet; ask again later rather than flag a payment.
                return new ReconcileDecision.Answer(ReconcileAnswer.ExtendTo(input, again),
                    $"QueryTradeInfo says unpaid (TradeStatus 0) after the credit at {credit.CreditedAt:O}: asking again at {again:O}");
            case QueryTradeInfoResult.Answered { Trade: var trade }:
                return new ReconcileDecision.FlagUnconfirmed($"credit not confirmed: QueryTradeInfo says TradeStatus {trade.Code} ({trade.Status}), not paid");
            default:
                return EcpayFailed(ecpay);
        }
    }

    private static bool Confirms(string tradeNo, long? tradeAmt, TimedTransaction transaction, CreditEvidence credit) =>
        tradeAmt == transaction.Amount && tradeNo.Length > 0 && string.Equals(tradeNo, credit.EcpayTradeNo, StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="after"/> past the credit, when that is still to come (and later than the timer's deadline, as an
    /// extension must be); null when it is time to look now.
    /// </summary>
    private static DateTimeOffset? LaterLook(DateTimeOffset? creditedAt, TimeSpan after, PaymentTimeoutInput input, DateTimeOffset now) =>
        creditedAt + after is { } at && at > now && at > input.ExpiresAt + ExtensionThreshold ? at : null;

    /// <summary>
    /// ECPay answers errors without CheckMacValue (查詢訂單 ?p=2890), and may answer an order it never saw that way:
    /// such an answer is read as "not found" — which can only expire a pending deposit or end a rolled-back one's timer,
    /// never credit or confirm anything (a forged one delays nothing: a real payment is still credited when reported).
    /// </summary>
    private static QueryTradeInfoResult? UnsignedNotFoundAsAnswer(QueryTradeInfoResult? ecpay, string merchantTradeNo) =>
        ecpay is QueryTradeInfoResult.EcpayError { Code: "10200047" }
            ? new QueryTradeInfoResult.Answered(new PaymentResult
            {
                Fields = EcpayForm.FromFields([]),
                Kind = EcpayPostKind.QueryTradeInfo,
                Status = TradeStatus.NotFound,
                Code = "10200047",
                MerchantId = "",
                MerchantTradeNo = merchantTradeNo,
            })
            : ecpay;

    /// <summary>ECPay did not answer usably: an error, retried by the state machine.</summary>
    private static ReconcileDecision.Fail EcpayFailed(QueryTradeInfoResult ecpay) => ecpay switch
    {
        QueryTradeInfoResult.TransportFailed f => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: transport failed: {f.Reason}"),
        QueryTradeInfoResult.TimedOut t => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: timed out: {t.Reason}"),
        QueryTradeInfoResult.HttpFailed h => new(ReconcileErrors.EcpayUnavailable, $"QueryTradeInfo: HTTP {h.StatusCode}: {Shorten(h.Body)}"),
        QueryTradeInfoResult.Throttled th => new(ReconcileErrors.EcpayThrottled, $"QueryTradeInfo: HTTP 403, ECPay is throttling this merchant: {Shorten(th.Body)}"),
        QueryTradeInfoResult.MacMismatch m => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: CheckMacValue does not verify (received {m.Received})"),
        QueryTradeInfoResult.EcpayError e => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: ECPay error: {Shorten(e.Message)}"),
        QueryTradeInfoResult.Malformed mf => new(ReconcileErrors.EcpayBadAnswer, $"QueryTradeInfo: malformed answer: {mf.Reason}"),
        _ => throw new ArgumentOutOfRangeException(nameof(ecpay), ecpay.GetType().Name, null),
    };

    private static ReconcileDecision.Answer Settled(string why) => new(new ReconcileAnswer(ReconcileOutcome.Settled), why);

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
