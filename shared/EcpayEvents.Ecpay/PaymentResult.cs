using System.Diagnostics.CodeAnalysis;

namespace EcpayEvents.Ecpay;

/// <summary>
/// What ECPay says about a payment, whichever way it said it: the ReturnURL post, the browser's OrderResultURL
/// post (the same fields) or a QueryTradeInfo answer. Typed views only: the MAC is verified over
/// <see cref="Fields"/>, the raw fields as received. <see cref="Parse"/> is the one parser for all three.
/// </summary>
public sealed record PaymentResult
{
    /// <summary>Every field as received, CheckMacValue included: forward these, not the typed values.</summary>
    public required EcpayForm Fields { get; init; }
    /// <summary>Which message it came as: <see cref="EcpayPostKind.ReturnUrl"/>, <see cref="EcpayPostKind.OrderResultUrl"/> or <see cref="EcpayPostKind.QueryTradeInfo"/>.</summary>
    public required EcpayPostKind Kind { get; init; }
    /// <summary>Only <see cref="TradeStatus.Paid"/> means money arrived.</summary>
    public required TradeStatus Status { get; init; }
    /// <summary>The code exactly as ECPay sent it: RtnCode of a post, TradeStatus of a QueryTradeInfo answer.</summary>
    public required string Code { get; init; }
    /// <summary>RtnMsg of a post; empty in a QueryTradeInfo answer.</summary>
    public string Message { get; init; } = "";
    public required string MerchantId { get; init; }
    public required string MerchantTradeNo { get; init; }
    public string StoreId { get; init; } = "";
    /// <summary>ECPay's own trade number (empty in an answer about an unpaid order).</summary>
    public string TradeNo { get; init; } = "";
    /// <summary>Always present in a post and in a paid answer.</summary>
    public long? TradeAmt { get; init; }
    /// <summary>Null when nothing was paid, or when the value is not a date this reader knows (the raw text stays in <see cref="Fields"/>).</summary>
    public DateTimeOffset? PaymentDate { get; init; }
    public string PaymentType { get; init; } = "";
    /// <summary>Informational; null when absent or not a number.</summary>
    public decimal? PaymentTypeChargeFee { get; init; }
    /// <summary>QueryTradeInfo only; informational.</summary>
    public decimal? HandlingCharge { get; init; }
    /// <summary>Informational; null when absent or not a date this reader knows.</summary>
    public DateTimeOffset? TradeDate { get; init; }
    /// <summary>True for a payment simulated from ECPay's back office: no money moved; never fulfil it. A QueryTradeInfo answer cannot say.</summary>
    public bool SimulatePaid { get; init; }
    /// <summary>QueryTradeInfo only.</summary>
    public string ItemName { get; init; } = "";
    public string CustomField1 { get; init; } = "";
    public string CustomField2 { get; init; } = "";
    public string CustomField3 { get; init; } = "";
    public string CustomField4 { get; init; } = "";

    /// <summary>Paid and not simulated.</summary>
    public bool IsRealPayment => Status == TradeStatus.Paid && !SimulatePaid;

    /// <summary>Reads a post (RtnCode 1 = paid, anything else failed) or a QueryTradeInfo answer (TradeStatus); throws <see cref="EcpayPostException"/> naming the field.</summary>
    public static PaymentResult Parse(EcpayPostKind kind, EcpayForm form)
    {
        ArgumentNullException.ThrowIfNull(form);
        var r = new FieldReader(form);
        return kind switch
        {
            EcpayPostKind.ReturnUrl or EcpayPostKind.OrderResultUrl => Post(kind, form, r),
            EcpayPostKind.QueryTradeInfo => Answer(form, r),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a payment result"),
        };
    }

    public static bool TryParse(EcpayPostKind kind, EcpayForm form, [NotNullWhen(true)] out PaymentResult? result, [NotNullWhen(false)] out string? error)
        => FieldReader.Try(() => Parse(kind, form), out result, out error);

    /// <summary>TradeStatus of a QueryTradeInfo answer.</summary>
    public static TradeStatus MapTradeStatus(string code) => code switch
    {
        "1" => TradeStatus.Paid,
        "0" => TradeStatus.Unpaid,
        "10200095" => TradeStatus.NeverChosePaymentMethod,
        "10200047" => TradeStatus.NotFound,
        _ => TradeStatus.Unknown,
    };

    private static PaymentResult Post(EcpayPostKind kind, EcpayForm form, FieldReader r)
    {
        var merchantId = r.Required("MerchantID");
        var merchantTradeNo = r.Required("MerchantTradeNo");
        var rtnCode = r.RequiredInt("RtnCode");
        return new PaymentResult
        {
            Fields = form,
            Kind = kind,
            Status = rtnCode == 1 ? TradeStatus.Paid : TradeStatus.Failed,
            Code = r.Required("RtnCode"),
            Message = r.Optional("RtnMsg"),
            MerchantId = merchantId,
            MerchantTradeNo = merchantTradeNo,
            TradeNo = r.Required("TradeNo"),
            TradeAmt = r.RequiredAmount("TradeAmt"),
            StoreId = r.Optional("StoreID"),
            PaymentDate = r.OptionalDate("PaymentDate"),
            PaymentType = r.Optional("PaymentType"),
            PaymentTypeChargeFee = r.OptionalDecimal("PaymentTypeChargeFee"),
            TradeDate = r.OptionalDate("TradeDate"),
            SimulatePaid = r.Flag("SimulatePaid"),
            CustomField1 = r.Optional("CustomField1"),
            CustomField2 = r.Optional("CustomField2"),
            CustomField3 = r.Optional("CustomField3"),
            CustomField4 = r.Optional("CustomField4"),
        };
    }

    // Strict on TradeStatus and TradeAmt, lenient on dates and fees; MerchantID and MerchantTradeNo are checked by the caller.
    private static PaymentResult Answer(EcpayForm form, FieldReader r)
    {
        var code = r.Required("TradeStatus");
        var status = MapTradeStatus(code);
        var tradeAmt = r.OptionalAmount("TradeAmt");
        if (status == TradeStatus.Paid && tradeAmt is null)
        {
            throw new EcpayPostException("TradeAmt", "A paid answer must carry TradeAmt.");
        }
        return new PaymentResult
        {
            Fields = form,
            Kind = EcpayPostKind.QueryTradeInfo,
            Status = status,
            Code = code,
            MerchantId = r.Optional("MerchantID"),
            MerchantTradeNo = r.Optional("MerchantTradeNo"),
            StoreId = r.Optional("StoreID"),
            TradeNo = r.Optional("TradeNo"),
            TradeAmt = tradeAmt,
            PaymentDate = r.OptionalDate("PaymentDate"),
            PaymentType = r.Optional("PaymentType"),
            HandlingCharge = r.OptionalDecimal("HandlingCharge"),
            PaymentTypeChargeFee = r.OptionalDecimal("PaymentTypeChargeFee"),
            TradeDate = r.OptionalDate("TradeDate"),
            ItemName = r.Optional("ItemName"),
            CustomField1 = r.Optional("CustomField1"),
            CustomField2 = r.Optional("CustomField2"),
            CustomField3 = r.Optional("CustomField3"),
            CustomField4 = r.Optional("CustomField4"),
        };
    }
}
