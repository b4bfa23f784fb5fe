namespace EcpayEvents.Payments.Timeouts;

/// <summary>
/// How long after a payment ECPay may still report it, per payment type, for a deposit that shows a payment under
/// way (an issued ATM/CVS/BARCODE number, a BNPL application): its timer waits this much past the deadline before
/// expiring it, so a payment made just in time is credited rather than expired and then credited late.
/// 付款結果通知 (developers.ecpay.com.tw/?p=2878): BARCODE results come about two days after payment; ATM and CVS
/// within a day (assumed: banks and stores settle daily); BNPL (裕富無卡分期申請結果通知, ?p=37517) is reviewed before
/// it pays — not documented, assumed three days. A card shows nothing under way, so it gets none: a card pending at
/// the bank past the deadline is credited late and flagged, like any late payment.
/// </summary>
public sealed record ReportingLag(TimeSpan Atm, TimeSpan Cvs, TimeSpan Barcode, TimeSpan Bnpl)
{
    public static ReportingLag Default { get; } = new(TimeSpan.FromDays(1), TimeSpan.FromDays(1), TimeSpan.FromDays(2), TimeSpan.FromDays(3));

    public static ReportingLag None { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>The lag for a PaymentType such as ATM_TAISHIN, CVS_CVS, BARCODE_BARCODE or BNPL_URICH; zero for any other (cards).</summary>
    public TimeSpan For(string? paymentType) => (paymentType ?? "").Split('_')[0] switch
    {
        "ATM" => Atm,
        "CVS" => Cvs,
        "BARCODE" => Barcode,
        "BNPL" => Bnpl,
        _ => TimeSpan.Zero,
    };
}
