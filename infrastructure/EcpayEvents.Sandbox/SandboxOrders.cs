using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using EcpayEvents.Sandbox.Protocol;

namespace EcpayEvents.Sandbox;

public static class OrderState
{
    public const string Created = "created";
    public const string NumberIssued = "number-issued";
    /// <summary>BNPL: the customer applied for the instalment loan; approval and payment come later.</summary>
    public const string Applied = "applied";
    /// <summary>The customer paid, ECPay has not heard yet (a card pending at the bank, a BARCODE's two days).</summary>
    public const string Reporting = "reporting";
    public const string Paid = "paid";
    public const string Failed = "failed";
}

/// <summary>One order as ECPay keeps it: the accepted checkout fields and what happened since. Guard with lock(order).</summary>
public sealed class SandboxOrder
{
    public required FormBody Checkout { get; init; }
    public required string MerchantTradeNo { get; init; }
    public required string TradeNo { get; init; }
    public required long TotalAmount { get; init; }
    public required string ChoosePayment { get; init; }
    public required DateTimeOffset TradeDate { get; init; }
    public string State { get; set; } = OrderState.Created;
    public string PaymentType { get; set; } = "";
    public DateTimeOffset? PaymentDate { get; set; }
    /// <summary>When ECPay learns of the payment (state <see cref="OrderState.Reporting"/>).</summary>
    public DateTimeOffset? ReportAt { get; set; }
    public int RtnCode { get; set; }
    public string RtnMsg { get; set; } = "";
    public string BankCode { get; set; } = "";
    public string VAccount { get; set; } = "";
    public string PaymentNo { get; set; } = "";
    public string Barcode1 { get; set; } = "";
    public string Barcode2 { get; set; } = "";
    public string Barcode3 { get; set; } = "";
    public string ExpireDate { get; set; } = "";
    public string BnplTradeNo { get; set; } = "";
    /// <summary>When an issued ATM/CVS/BARCODE number stops being payable (ExpireDate as an instant).</summary>
    public DateTimeOffset? NumberExpiresAt { get; set; }
    /// <summary>A back-office "simulate payment" was sent (SimulatePaid=1): no money moved.</summary>
    public bool Simulated { get; set; }
    public List<Delivery> Deliveries { get; } = [];

    public string Field(string key) => Checkout[key] ?? "";

    /// <summary>A whole-number checkout field (e.g. ExpireDate in days), or <paramref name="fallback"/> when absent or not a number.</summary>
    public int IntField(string key, int fallback) => int.TryParse(Field(key), out var n) ? n : fallback;

    /// <summary>Which actions ChoosePayment allows before anything happened.</summary>
    public bool Allows(string action) => action switch
    {
        "card" or "fail" => ChoosePayment is AioRules.Credit or AioRules.All or AioRules.WebAtm or AioRules.ApplePay or AioRules.Twqr,
        "atm" => ChoosePayment is AioRules.Atm or AioRules.All,
        "cvs" => ChoosePayment is AioRules.Cvs or AioRules.All,
        "barcode" => ChoosePayment is AioRules.Barcode or AioRules.All,
        "bnpl" => ChoosePayment is AioRules.Bnpl or AioRules.All,
        _ => false,
    };
}

/// <summary>A notification ECPay owes the merchant, and every attempt to deliver it.</summary>
public sealed class Delivery
{
    public required string Kind { get; init; }
    public required string Url { get; init; }
    /// <summary>The fields of the first attempt (re-sends of a paid result say RtnMsg=paid), without CheckMacValue.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Fields { get; init; }
    public bool SendTwice { get; init; }
    public bool Acknowledged { get; set; }
    public bool GaveUp { get; set; }
    public List<DeliveryAttempt> Attempts { get; } = [];
}

public sealed record DeliveryAttempt(DateTimeOffset At, string RtnMsg, int? Status, string Answer, bool Acknowledged);

/// <summary>In-memory orders. A MerchantTradeNo, once accepted, is never accepted again (as at ECPay).</summary>
public sealed class SandboxOrders(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, SandboxOrder> orders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OrderBehaviour> behaviours = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> queries = new(StringComparer.Ordinal);

    public TimeProvider Time => time;

    public bool TryAdd(SandboxOrder order) => orders.TryAdd(order.MerchantTradeNo, order);

    public SandboxOrder? Find(string merchantTradeNo) => orders.GetValueOrDefault(merchantTradeNo);

    public IReadOnlyList<SandboxOrder> All() => orders.Values.OrderBy(o => o.TradeDate).ToList();

    /// <summary>One order's behaviour; may be set before the order exists (an order ECPay never sees).</summary>
    public OrderBehaviour Behaviour(string merchantTradeNo) => behaviours.GetValueOrDefault(merchantTradeNo) ?? new OrderBehaviour();

    public void SetBehaviour(string merchantTradeNo, OrderBehaviour behaviour) => behaviours[merchantTradeNo] = behaviour;

    /// <summary>Counts a QueryTradeInfo call about the order (answered or refused).</summary>
    public void CountQuery(string merchantTradeNo) => queries.AddOrUpdate(merchantTradeNo, 1, (_, n) => n + 1);

    public int Queries(string merchantTradeNo) => queries.GetValueOrDefault(merchantTradeNo);

    /// <summary>ECPay's TradeNo: 16 digits (yyMMddHHmmss, Taiwan time, + 4 random digits).</summary>
    public string NewTradeNo() =>
        TaiwanClock.Local(time.GetUtcNow()).ToString("yyMMddHHmmss", CultureInfo.InvariantCulture)
        + RandomNumberGenerator.GetInt32(10_000).ToString("D4", CultureInfo.InvariantCulture);

    public static string Digits(int count)
    {
        var chars = new char[count];
        for (var i = 0; i < count; i++) chars[i] = (char)('0' + RandomNumberGenerator.GetInt32(10));
        return new string(chars);
    }
}
