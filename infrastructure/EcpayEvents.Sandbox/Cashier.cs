using System.Globalization;
using System.Net;
using EcpayEvents.Sandbox.Protocol;

namespace EcpayEvents.Sandbox;

/// <summary>What the paying customer does, and the notifications ECPay owes the merchant for it.</summary>
public sealed partial class Cashier(SandboxOrders orders, SandboxOptions options, SandboxBehaviour behaviour, IHttpClientFactory httpClients, IHostApplicationLifetime lifetime, ILogger<Cashier> log)
{
    public const int CardDeclined = 10100058;

    /// <summary>
    /// Applies an action: card (pay), fail (card declined), atm / cvs / barcode (issue a number), bnpl (apply for
    /// the instalment loan: PaymentInfoURL hears RtnCode 2), paid (pay the issued number, or approve the BNPL
    /// application; a number is refused after its ExpireDate, as the bank or store would), paid-late (pay it
    /// anyway after its ExpireDate — a late payment ECPay still reports), simulate (ECPay's back office
    /// "模擬付款": ReturnURL with RtnCode 1 and SimulatePaid=1, offered only for an issued ATM/CVS/BARCODE number;
    /// no money moves and the order stays unpaid). A payment reaches ECPay after the payment type's reporting lag
    /// (<see cref="SandboxBehaviour.ReportLag"/>, or the order's). Null on success, or why not.
    /// </summary>
    public string? Act(SandboxOrder order, string action, bool twice)
    {
        lock (order)
        {
            var now = orders.Time.GetUtcNow();
            switch (action)
            {
                case "card" or "fail" or "atm" or "cvs" or "barcode" or "bnpl" when order.State != OrderState.Created:
                    return $"order is {order.State}";
                case "card" or "fail" or "atm" or "cvs" or "barcode" or "bnpl" when !order.Allows(action):
                    return $"ChoosePayment {order.ChoosePayment} does not offer {action}";
                case "card":
                    order.PaymentType = order.ChoosePayment == AioRules.WebAtm ? "WebATM_TAISHIN" : "Credit_CreditCard";
                    Pay(order, now, twice);
                    return null;
                case "fail":
                    order.State = OrderState.Failed;
                    order.PaymentType = "Credit_CreditCard";
                    order.RtnCode = CardDeclined;
                    order.RtnMsg = "付款失敗";
                    if (options.NotifyFailures) Notify(order, "ReturnURL", order.Field("ReturnURL"), PaymentFields(order), twice);
                    return null;
                case "atm":
                    order.BankCode = "812";
                    order.VAccount = "9103" + SandboxOrders.Digits(10);
                    var atmDay = now.AddDays(order.IntField("ExpireDate", 3));
                    IssueNumber(order, "ATM_TAISHIN", AioRules.AtmNumberIssued, "Get VirtualAccount Succeeded",
                        TaiwanClock.Date(atmDay), TaiwanClock.EndOfDay(atmDay), twice);
                    return null;
                case "cvs":
                    order.PaymentNo = "LLL" + SandboxOrders.Digits(11);
                    var cvsUntil = now.AddMinutes(order.IntField("StoreExpireDate", 10_080));
                    IssueNumber(order, "CVS_CVS", AioRules.StoreNumberIssued, "Get CVS Code Succeeded.",
                        TaiwanClock.DateTime(cvsUntil), cvsUntil, twice);
                    return null;
                case "barcode":
                    var expires = now.AddDays(order.IntField("StoreExpireDate", 7));
                    order.Barcode1 = TaiwanClock.Local(expires).ToString("yyMMdd", CultureInfo.InvariantCulture) + "6Q2";
                    order.Barcode2 = SandboxOrders.Digits(16);
                    order.Barcode3 = SandboxOrders.Digits(15);
                    IssueNumber(order, "BARCODE_BARCODE", AioRules.StoreNumberIssued, "Get CVS Code Succeeded.", TaiwanClock.Date(expires), TaiwanClock.EndOfDay(expires), twice);
                    return null;
                case "bnpl":
                    // 裕富無卡分期申請結果通知 (?p=37517): PaymentInfoURL, RtnCode 2 = applying; no BankCode/vAccount/ExpireDate.
                    order.State = OrderState.Applied;
                    order.PaymentType = "BNPL_URICH";
                    order.RtnCode = AioRules.BnplApplying;
                    order.RtnMsg = "申請中";
                    order.BnplTradeNo = "BNPL" + SandboxOrders.Digits(12);
                    if (order.Field("PaymentInfoURL") is { Length: > 0 } bnplUrl) Notify(order, "PaymentInfoURL", bnplUrl, BnplFields(order), twice);
                    return null;
                case "paid" or "paid-late":
                    if (order.State is not (OrderState.NumberIssued or OrderState.Applied)) return $"order is {order.State}; only an issued ATM/CVS/BARCODE number or a BNPL application can be paid";
                    if (action == "paid" && order.NumberExpiresAt is { } until && now > until)
                        return $"the number expired at {TaiwanClock.DateTime(until)} (Taiwan time) and can no longer be paid; use paid-late to simulate a late payment ECPay still reports";
                    Pay(order, now, twice);
                    return null;
                case "simulate":
                    if (order.State != OrderState.NumberIssued || !AioRules.OffersSimulatePaid(order.PaymentType))
                        return $"order is {order.State} ({order.PaymentType}); ECPay's back office offers 模擬付款 only for an issued ATM/CVS/BARCODE number";
                    order.Simulated = true;
                    var simulated = PaymentFields(order).Select(f => f.Key switch
                    {
                        "RtnCode" => new KeyValuePair<string, string>("RtnCode", "1"),
                        "RtnMsg" => new("RtnMsg", "交易成功"),
                        "PaymentDate" => new("PaymentDate", TaiwanClock.DateTime(now)),
                        "SimulatePaid" => new("SimulatePaid", "1"),
                        _ => f,
                    }).ToList();
                    Notify(order, "ReturnURL", order.Field("ReturnURL"), simulated, twice);
                    return null;
                default:
                    return $"unknown action '{action}' (card, fail, atm, cvs, barcode, bnpl, paid, paid-late, simulate)";
            }
        }
    }

    /// <summary>The customer paid: ECPay knows (and posts ReturnURL) now, or after the reporting lag. Caller holds lock(order).</summary>
    private void Pay(SandboxOrder order, DateTimeOffset now, bool twice)
    {
        order.PaymentDate = now;
        var lag = orders.Behaviour(order.MerchantTradeNo).ReportLag ?? behaviour.ReportLag(order.PaymentType);
        if (lag <= TimeSpan.Zero)
        {
            Report(order, twice);
            return;
        }
        order.State = OrderState.Reporting;
        order.ReportAt = now + lag;
        _ = Task.Run(async () =>
        {
            try { await Task.Delay(lag, orders.Time, lifetime.ApplicationStopping); }
            catch (OperationCanceledException) { return; }
            lock (order) Report(order, twice);
        });
    }

    private void Report(SandboxOrder order, bool twice)
    {
        order.State = OrderState.Paid;
        order.RtnCode = 1;
        order.RtnMsg = "交易成功";
        Notify(order, "ReturnURL", order.Field("ReturnURL"), PaymentFields(order), twice);
    }

    /// <summary>The ReturnURL / OrderResultURL fields (付款結果通知, developers.ecpay.com.tw/?p=2878), without CheckMacValue.</summary>
    public static List<KeyValuePair<string, string>> PaymentFields(SandboxOrder order)
    {
        var paid = order.RtnCode == 1;
        return
        [
            .. ResultFields(order),
            new("PaymentDate", paid && order.PaymentDate is { } p ? TaiwanClock.DateTime(p) : ""),
            new("PaymentTypeChargeFee", paid ? Math.Round(order.TotalAmount * 0.0275m, 0).ToString(CultureInfo.InvariantCulture) : "0"),
            new("SimulatePaid", "0"),
        ];
    }

    /// <summary>The PaymentInfoURL fields (取號結果通知, developers.ecpay.com.tw/?p=2881), without CheckMacValue.</summary>
    public static List<KeyValuePair<string, string>> InfoFields(SandboxOrder order)
    {
        var fields = ResultFields(order);
        if (order.PaymentType.StartsWith("ATM", StringComparison.Ordinal))
        {
            fields.Add(new("BankCode", order.BankCode));
            fields.Add(new("vAccount", order.VAccount));
        }
        else
        {
            fields.Add(new("PaymentNo", order.PaymentNo));
            fields.Add(new("Barcode1", order.Barcode1));
            fields.Add(new("Barcode2", order.Barcode2));
            fields.Add(new("Barcode3", order.Barcode3));
        }
        fields.Add(new("ExpireDate", order.ExpireDate));
        return fields;
    }

    /// <summary>The BNPL application post (裕富無卡分期申請結果通知, developers.ecpay.com.tw/?p=37517), without CheckMacValue.</summary>
    public static List<KeyValuePair<string, string>> BnplFields(SandboxOrder order) =>
        [.. ResultFields(order), new("BNPLTradeNo", order.BnplTradeNo), new("BNPLInstallment", "6")];

    /// <summary>What every ReturnURL and PaymentInfoURL post carries (付款結果通知 ?p=2878, 取號結果通知 ?p=2881, ?p=37517 alike).</summary>
    private static List<KeyValuePair<string, string>> ResultFields(SandboxOrder order) =>
    [
        new("MerchantID", order.Field("MerchantID")),
        new("MerchantTradeNo", order.MerchantTradeNo),
        new("StoreID", ""),
        new("RtnCode", order.RtnCode.ToString(CultureInfo.InvariantCulture)),
        new("RtnMsg", order.RtnMsg),
        new("TradeNo", order.TradeNo),
        new("TradeAmt", order.TotalAmount.ToString(CultureInfo.InvariantCulture)),
        new("PaymentType", order.PaymentType),
        new("TradeDate", TaiwanClock.DateTime(order.TradeDate)),
        new("CustomField1", order.Field("CustomField1")),
        new("CustomField2", order.Field("CustomField2")),
        new("CustomField3", order.Field("CustomField3")),
        new("CustomField4", order.Field("CustomField4")),
    ];

    public List<KeyValuePair<string, string>> Sign(IEnumerable<KeyValuePair<string, string>> fields) =>
        SandboxMac.Sign(fields, options.HashKey, options.HashIv);

    /// <summary>An ATM/CVS/BARCODE number is issued (its own fields already set): PaymentInfoURL hears of it.</summary>
    private void IssueNumber(SandboxOrder order, string paymentType, int rtnCode, string rtnMsg, string expireDate, DateTimeOffset expiresAt, bool twice)
    {
        order.State = OrderState.NumberIssued;
        order.NumberExpiresAt = expiresAt;
        order.PaymentType = paymentType;
        order.RtnCode = rtnCode;
        order.RtnMsg = rtnMsg;
        order.ExpireDate = expireDate;
        if (order.Field("PaymentInfoURL") is { Length: > 0 } url) Notify(order, "PaymentInfoURL", url, InfoFields(order), twice);
    }

    private void Notify(SandboxOrder order, string kind, string url, List<KeyValuePair<string, string>> fields, bool twice)
    {
        var delivery = new Delivery { Kind = kind, Url = url, Fields = fields, SendTwice = twice || options.SendTwice };
        order.Deliveries.Add(delivery);
        _ = Task.Run(() => DeliverAsync(order, delivery, lifetime.ApplicationStopping));
    }

    /// <summary>
    /// Posts until the answer is exactly <c>1|OK</c> — bounded: waits growing by RetryBackoff up to
    /// MaxRetryInterval, at most MaxAttempts — then once more when asked to send twice.
    /// </summary>
    private async Task DeliverAsync(SandboxOrder order, Delivery delivery, CancellationToken stopping)
    {
        var client = httpClients.CreateClient("notifications");
        var extra = delivery.SendTwice ? 1 : 0;
        try
        {
            for (var attempt = 1; !stopping.IsCancellationRequested; attempt++)
            {
                // A re-send of a successful payment says RtnMsg=paid where the first said 交易成功.
                var fields = delivery.Fields.Select(f => attempt > 1 && f.Key == "RtnMsg" && f.Value == "交易成功" ? new KeyValuePair<string, string>("RtnMsg", "paid") : f).ToList();
                var rtnMsg = fields.First(f => f.Key == "RtnMsg").Value;
                int? status = null;
                string answer;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    timeout.CancelAfter(options.NotificationTimeout);
                    using var content = new StringContent(FormBody.Write(Sign(fields)), System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
                    using var response = await client.PostAsync(delivery.Url, content, timeout.Token);
                    status = (int)response.StatusCode;
                    answer = await response.Content.ReadAsStringAsync(timeout.Token);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
                {
                    answer = e is TaskCanceledException ? "(timed out)" : $"({e.Message})";
                }
                var ok = status == (int)HttpStatusCode.OK && answer == "1|OK";
                lock (order)
                {
                    delivery.Attempts.Add(new DeliveryAttempt(orders.Time.GetUtcNow(), rtnMsg, status, answer.Length > 200 ? answer[..200] : answer, ok));
                    if (ok) delivery.Acknowledged = true;
                }
                LogAttempt(log, delivery.Kind, order.MerchantTradeNo, attempt, status, ok);
                if (ok && extra-- <= 0) return;
                if (!ok && attempt >= options.MaxAttempts)
                {
                    lock (order) delivery.GaveUp = true;
                    LogGaveUp(log, delivery.Kind, order.MerchantTradeNo, attempt);
                    return;
                }
                await Task.Delay(ok ? TimeSpan.FromMilliseconds(200) : options.RetryDelay(attempt), stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} for {MerchantTradeNo}, attempt {Attempt}: HTTP {Status}, acknowledged {Acknowledged}")]
    private static partial void LogAttempt(ILogger logger, string kind, string merchantTradeNo, int attempt, int? status, bool acknowledged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} for {MerchantTradeNo}: gave up after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string kind, string merchantTradeNo, int attempts);
}
