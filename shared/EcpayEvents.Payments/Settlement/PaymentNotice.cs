using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// A ReturnURL post, PaymentInfoURL post or QueryTradeInfo answer, reduced to what the settlement
/// rules need. <see cref="Code"/> is RtnCode, or TradeStatus for QueryTradeInfo (which has no RtnCode).
/// </summary>
public sealed record PaymentNotice
{
    public required string Source { get; init; }
    public required NoticeKind Kind { get; init; }
    public required string MerchantId { get; init; }
    public required string MerchantTradeNo { get; init; }
    public required int Code { get; init; }
    public string Message { get; init; } = "";
    public string TradeNo { get; init; } = "";
    public long TradeAmt { get; init; }
    public DateTimeOffset? PaymentDate { get; init; }
    public string PaymentType { get; init; } = "";
    /// <summary>ReturnURL only; QueryTradeInfo answers cannot say.</summary>
    public bool SimulatePaid { get; init; }
    public IssuedPaymentNumber? Issued { get; init; }

    /// <summary>Reads a message's raw fields as its source's typed view. False (with a reason) when they do not parse.</summary>
    public static bool TryParse(string source, IReadOnlyDictionary<string, string> fields, [NotNullWhen(true)] out PaymentNotice? notice, [NotNullWhen(false)] out string? error)
    {
        notice = null;
        try
        {
            var form = EcpayForm.FromFields(fields);
            notice = source switch
            {
                PaymentResultSource.ReturnUrl => FromReturnUrl(form),
                PaymentResultSource.PaymentInfoUrl => FromPaymentInfo(form),
                PaymentResultSource.QueryTradeInfo => FromQueryTradeInfo(form),
                _ => throw new FormatException($"unknown source '{Truncate(source)}'"),
            };
            error = CheckLengths(notice);
            if (error is not null) notice = null;
            return notice is not null;
        }
        catch (FormatException e) // EcpayPostException and EcpayFormException are FormatExceptions
        {
            error = e.Message;
            return false;
        }
    }

    private static PaymentNotice FromReturnUrl(EcpayForm form)
    {
        if (RtnCode(form) is int code and (PaymentInfo.AtmNumberIssued or PaymentInfo.CvsOrBarcodeNumberIssued))
            return WrongEndpoint(PaymentResultSource.ReturnUrl, form, code);
        AsEcpaySendsIt(EcpayPostKind.ReturnUrl, form);
        // An empty PaymentDate is null: the received time stands in.
        return FromResult(PaymentResultSource.ReturnUrl, PaymentResult.Parse(EcpayPostKind.ReturnUrl, form));
    }

    private static PaymentNotice FromPaymentInfo(EcpayForm form)
    {
        if (RtnCode(form) is int code and 1)
            return WrongEndpoint(PaymentResultSource.PaymentInfoUrl, form, code);
        AsEcpaySendsIt(EcpayPostKind.PaymentInfoUrl, form);
        // PaymentInfo.Parse insists on a date when ExpireDate is present, but a failed issuing post
        // carries it empty; without the number there is nothing to expire, so read it as absent.
        if (form["ExpireDate"] is "" && form["RtnCode"] is not ("2" or "10100073"))
            form = EcpayForm.FromFields(form.Where(f => f.Key != "ExpireDate"));
        var p = PaymentInfo.Parse(form);
        return new PaymentNotice
        {
            Source = PaymentResultSource.PaymentInfoUrl,
            Kind = p.IsNumberIssued ? NoticeKind.NumberIssued : NoticeKind.IssueFailed,
            MerchantId = p.MerchantId,
            MerchantTradeNo = p.MerchantTradeNo,
            Code = p.RtnCode,
            Message = p.RtnMsg,
            TradeNo = p.TradeNo,
            TradeAmt = p.TradeAmt,
            PaymentType = p.PaymentType,
            Issued = p.IsNumberIssued
                ? new IssuedPaymentNumber(p.BankCode, p.VAccount, p.PaymentNo, p.Barcode1, p.Barcode2, p.Barcode3, p.ExpireDate)
                : null,
        };
    }

    // TradeStatus instead of RtnCode, no SimulatePaid; a paid answer without TradeAmt does not parse.
    private static PaymentNotice FromQueryTradeInfo(EcpayForm form)
    {
        AsEcpaySendsIt(EcpayPostKind.QueryTradeInfo, form);
        Required(form, "MerchantID");
        Required(form, "MerchantTradeNo");
        var result = PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, form);
        // A "paid" answer must say what was paid, or it cannot be checked against the transaction.
        if (result.Status == TradeStatus.Paid) Required(form, "TradeNo");
        return FromResult(PaymentResultSource.QueryTradeInfo, result);
    }

    // ReturnURL: RtnCode 1 paid, anything else not. QueryTradeInfo: 1 paid, 10200095 (no payment method chosen) not,
    // anything else not yet.
    private static PaymentNotice FromResult(string source, PaymentResult result)
    {
        var sign = result.Kind == EcpayPostKind.QueryTradeInfo ? NumberStyles.None : NumberStyles.AllowLeadingSign;
        if (!int.TryParse(result.Code, sign, CultureInfo.InvariantCulture, out var code))
            throw new FormatException($"TradeStatus '{Truncate(result.Code)}' is not an integer.");
        return new PaymentNotice
        {
            Source = source,
            Kind = result.Status switch
            {
                TradeStatus.Paid => NoticeKind.Paid,
                TradeStatus.Failed or TradeStatus.NeverChosePaymentMethod => NoticeKind.NotPaid,
                _ => NoticeKind.NotYetPaid,
            },
            MerchantId = result.MerchantId,
            MerchantTradeNo = result.MerchantTradeNo,
            Code = code,
            Message = result.Kind == EcpayPostKind.QueryTradeInfo ? $"TradeStatus {code}" : result.Message,
            TradeNo = result.TradeNo,
            TradeAmt = result.TradeAmt ?? 0,
            PaymentDate = result.PaymentDate,
            PaymentType = result.PaymentType,
            SimulatePaid = result.SimulatePaid,
        };
    }

    // Only the fields ECPay sends for the source, in their formats (the producer checked too, but anything on the
    // queue is checked again). Checked after the wrong-endpoint test, so a body posted to the other URL is still
    // recognised as such (and a paid one flagged for review).
    private static void AsEcpaySendsIt(EcpayPostKind kind, EcpayForm form)
    {
        if (EcpayPostFields.Problem(kind, form) is { } problem) throw new FormatException(problem);
    }

    /// <summary>RtnCode when it is an integer; null otherwise (the full parse then names the field).</summary>
    private static int? RtnCode(EcpayForm form) =>
        int.TryParse(form["RtnCode"], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) ? code : null;

    // Only what identifies the message: it is recorded and rejected, never applied.
    private static PaymentNotice WrongEndpoint(string source, EcpayForm form, int code) => new()
    {
        Source = source,
        Kind = NoticeKind.WrongEndpoint,
        MerchantId = Required(form, "MerchantID"),
        MerchantTradeNo = Required(form, "MerchantTradeNo"),
        Code = code,
        Message = form["RtnMsg"] ?? "",
    };

    private static string Required(EcpayForm form, string name) =>
        form[name] is { Length: > 0 } value ? value : throw new FormatException($"{name} is missing or empty.");

    // The transaction columns these values go into; a longer value is not ECPay's and would fail the UPDATE forever.
    private static string? CheckLengths(PaymentNotice n)
    {
        if (n.TradeNo.Length > 20) return "TradeNo is longer than 20 characters.";
        if (n.Issued is { } i)
        {
            if (i.BankCode.Length > 3) return "BankCode is longer than 3 characters.";
            if (i.VAccount.Length > 16) return "vAccount is longer than 16 characters.";
            if (i.PaymentNo.Length > 20) return "PaymentNo is longer than 20 characters.";
            if (i.Barcode1.Length > 20 || i.Barcode2.Length > 20 || i.Barcode3.Length > 20) return "A Barcode is longer than 20 characters.";
        }
        return null;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
