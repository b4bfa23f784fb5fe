using System.Globalization;
using EcpayEvents.Sandbox.Protocol;

namespace EcpayEvents.Sandbox;

public sealed record PayRequest(string? Method, bool Twice = false);

public sealed record AttemptView(DateTimeOffset At, string RtnMsg, int? Status, string Answer, bool Acknowledged);

public sealed record DeliveryView(string Kind, string Url, bool Acknowledged, bool GaveUp, IReadOnlyList<AttemptView> Attempts);

public sealed record OrderView(
    string MerchantTradeNo, string TradeNo, string State, long TotalAmount, string ChoosePayment, string PaymentType,
    int RtnCode, string RtnMsg, string BankCode, string VAccount, string PaymentNo, string ExpireDate,
    string? OrderResultUrl, string? ClientBackUrl, IReadOnlyList<DeliveryView> Deliveries);

public sealed record CheckoutAnswer(bool Ok, string? Code, string? Message, string? MerchantTradeNo, string? TradeNo);

/// <summary>POST /sandbox/behaviour: the properties to change (null keeps the current value).</summary>
public sealed record BehaviourChange(
    bool? UnsignedNotFound = null, bool? RawSignedAnswers = null, int? QueryRateLimit = null, TimeSpan? QueryRateWindow = null, TimeSpan? QueryBlock = null,
    TimeSpan? CardReportLag = null, TimeSpan? AtmReportLag = null, TimeSpan? CvsReportLag = null, TimeSpan? BarcodeReportLag = null, TimeSpan? BnplReportLag = null,
    bool ResetQueryGate = false);

/// <summary>What the sandbox plays now, and how QueryTradeInfo was used.</summary>
public sealed record BehaviourView(SandboxBehaviour Behaviour, int QueryCalls, int QueryRefused, DateTimeOffset? QueryBlockedUntil);

/// <summary>ECPay's endpoints as stage answers them, plus the customer's actions (HTML for people, JSON for scripts).</summary>
public static class SandboxEndpoints
{
    public static IEndpointRouteBuilder MapSandbox(this IEndpointRouteBuilder app)
    {
        app.MapPost("/Cashier/AioCheckOut/V5", AioCheckOut);
        app.MapPost("/Cashier/QueryTradeInfo/V5", QueryTradeInfo);

        app.MapPost("/sandbox/checkout/{merchantTradeNo}", CheckoutAction);
        app.MapGet("/sandbox/orders", (SandboxOrders orders) => TypedResults.Ok(orders.All().Select(View).ToList()));
        app.MapGet("/sandbox/orders/{merchantTradeNo}", GetOrder);
        app.MapPost("/sandbox/orders/{merchantTradeNo}/pay", Pay);
        app.MapGet("/sandbox/behaviour", (SandboxBehaviour behaviour, QueryGate gate) => TypedResults.Ok(BehaviourNow(behaviour, gate)));
        app.MapPost("/sandbox/behaviour", ChangeBehaviour);
        app.MapPost("/sandbox/orders/{merchantTradeNo}/behaviour", (string merchantTradeNo, OrderBehaviour body, SandboxOrders orders) =>
        {
            orders.SetBehaviour(merchantTradeNo, body);
            return TypedResults.Ok(body);
        });
        app.MapGet("/sandbox/orders/{merchantTradeNo}/queries", (string merchantTradeNo, SandboxOrders orders) => TypedResults.Ok(orders.Queries(merchantTradeNo)));
        app.MapGet("/", () => TypedResults.Content(SandboxPages.Home, "text/html; charset=utf-8"));
        return app;
    }

    public static IResult ChangeBehaviour(BehaviourChange change, SandboxBehaviour behaviour, QueryGate gate)
    {
        lock (behaviour)
        {
            behaviour.UnsignedNotFound = change.UnsignedNotFound ?? behaviour.UnsignedNotFound;
            behaviour.RawSignedAnswers = change.RawSignedAnswers ?? behaviour.RawSignedAnswers;
            behaviour.QueryRateLimit = change.QueryRateLimit ?? behaviour.QueryRateLimit;
            behaviour.QueryRateWindow = change.QueryRateWindow ?? behaviour.QueryRateWindow;
            behaviour.QueryBlock = change.QueryBlock ?? behaviour.QueryBlock;
            behaviour.CardReportLag = change.CardReportLag ?? behaviour.CardReportLag;
            behaviour.AtmReportLag = change.AtmReportLag ?? behaviour.AtmReportLag;
            behaviour.CvsReportLag = change.CvsReportLag ?? behaviour.CvsReportLag;
            behaviour.BarcodeReportLag = change.BarcodeReportLag ?? behaviour.BarcodeReportLag;
            behaviour.BnplReportLag = change.BnplReportLag ?? behaviour.BnplReportLag;
        }
        if (change.ResetQueryGate) gate.Reset();
        return TypedResults.Ok(BehaviourNow(behaviour, gate));
    }

    private static BehaviourView BehaviourNow(SandboxBehaviour behaviour, QueryGate gate) => new(behaviour, gate.Calls, gate.Refused, gate.BlockedUntil);

    /// <summary>Errors are HTTP 200 pages with a code, as at ECPay; with Accept: application/json, a JSON answer.</summary>
    public static async Task<IResult> AioCheckOut(HttpRequest request, SandboxOrders orders, SandboxOptions options, ILoggerFactory logs)
    {
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        var json = WantsJson(request);
        var error = AioCheckOutValidator.Validate(body, options, out var form);
        SandboxOrder? order = null;
        if (error is null)
        {
            order = new SandboxOrder
            {
                Checkout = form!,
                MerchantTradeNo = form!["MerchantTradeNo"]!,
                TradeNo = orders.NewTradeNo(),
                TotalAmount = long.Parse(form["TotalAmount"]!, CultureInfo.InvariantCulture),
                ChoosePayment = form["ChoosePayment"]!,
                TradeDate = orders.Time.GetUtcNow(),
            };
            if (!orders.TryAdd(order))
                error = new CheckoutError(AioCheckOutValidator.Codes.DuplicateMerchantTradeNo, "訂單編號重覆 MerchantTradeNo is duplicate.");
        }
        var log = logs.CreateLogger("EcpayEvents.Sandbox.AioCheckOut");
        if (error is not null)
        {
            log.LogInformation("Checkout {MerchantTradeNo} rejected: {Code} {Message}", form?["MerchantTradeNo"], error.Code, error.Message);
            return json
                ? TypedResults.Ok(new CheckoutAnswer(false, error.Code, error.Message, form?["MerchantTradeNo"], null))
                : TypedResults.Content(SandboxPages.Error(error), "text/html; charset=utf-8");
        }
        log.LogInformation("Checkout {MerchantTradeNo} accepted: {Amount} TWD by {ChoosePayment}", order!.MerchantTradeNo, order.TotalAmount, order.ChoosePayment);
        return json
            ? TypedResults.Ok(new CheckoutAnswer(true, null, null, order.MerchantTradeNo, order.TradeNo))
            : TypedResults.Content(SandboxPages.Checkout(order), "text/html; charset=utf-8");
    }

    /// <summary>The checkout page's buttons: act, then send the browser on as ECPay would.</summary>
    public static async Task<IResult> CheckoutAction(string merchantTradeNo, HttpRequest request, SandboxOrders orders, Cashier cashier)
    {
        var order = orders.Find(merchantTradeNo);
        if (order is null) return TypedResults.Content(SandboxPages.Error(new("10200047", "Cant not find the trade data.")), "text/html; charset=utf-8");
        var form = await request.ReadFormAsync();
        var action = form["action"].ToString();
        var failure = cashier.Act(order, action, twice: form["twice"] == "on");
        if (failure is not null) return TypedResults.Content(SandboxPages.Error(new("10200099", $"Sandbox: {failure}.")), "text/html; charset=utf-8");
        lock (order)
        {
            if (order.State is OrderState.Paid or OrderState.Failed && action is not ("paid" or "paid-late") && order.Field("OrderResultURL") is { Length: > 0 } orderResultUrl)
                return TypedResults.Content(SandboxPages.AutoPost(orderResultUrl, cashier.Sign(Cashier.PaymentFields(order))), "text/html; charset=utf-8");
            return TypedResults.Content(SandboxPages.Result(order), "text/html; charset=utf-8");
        }
    }

    public static IResult GetOrder(string merchantTradeNo, SandboxOrders orders) =>
        orders.Find(merchantTradeNo) is { } order ? TypedResults.Ok(View(order)) : TypedResults.NotFound();

    /// <summary>For scripts: act as the paying customer without a browser.</summary>
    public static IResult Pay(string merchantTradeNo, PayRequest body, SandboxOrders orders, Cashier cashier)
    {
        var order = orders.Find(merchantTradeNo);
        if (order is null) return TypedResults.Problem(statusCode: 404, title: $"No order {merchantTradeNo}.");
        var failure = cashier.Act(order, body.Method ?? "", body.Twice);
        return failure is null ? TypedResults.Ok(View(order)) : TypedResults.Problem(statusCode: 409, title: failure);
    }

    /// <summary>
    /// QueryTradeInfo/V5 (查詢訂單, developers.ecpay.com.tw/?p=2890): 403 while calling too fast (QueryGate); verify
    /// MerchantID, CheckMacValue and a TimeStamp within 3 minutes; answer key=value&amp;… (values URL-encoded)
    /// signed with CheckMacValue. Request errors carry no MAC; so does "not found" when the behaviour says so.
    /// </summary>
    public static async Task<IResult> QueryTradeInfo(HttpRequest request, SandboxOrders orders, SandboxOptions options, SandboxBehaviour behaviour, QueryGate gate, Cashier cashier)
    {
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        static IResult Text(string s) => TypedResults.Text(s, "text/html; charset=utf-8");
        var readable = FormBody.TryRead(body, out var form, out _);
        if (readable && form!["MerchantTradeNo"] is { Length: > 0 } asked) orders.CountQuery(asked);
        if (!gate.Admit()) return TypedResults.Text("Forbidden", "text/html; charset=utf-8", statusCode: StatusCodes.Status403Forbidden);
        if (!readable || string.IsNullOrEmpty(form!["MerchantTradeNo"]) || string.IsNullOrEmpty(form["TimeStamp"]))
            return Text("TradeStatus=10200041&RtnMsg=Parameter Error.");
        if (form["MerchantID"] != options.MerchantId) return Text("TradeStatus=10200042&RtnMsg=MerchantID Error.");
        if (!SandboxMac.Verify(form.Fields, options.HashKey, options.HashIv)) return Text("TradeStatus=10200073&RtnMsg=CheckMacValue Error.");
        if (!long.TryParse(form["TimeStamp"], NumberStyles.None, CultureInfo.InvariantCulture, out var ts)
            || Math.Abs(orders.Time.GetUtcNow().ToUnixTimeSeconds() - ts) > options.QueryTimeStampTolerance.TotalSeconds)
            return Text("TradeStatus=10200052&RtnMsg=TimeStamp Error.");

        var order = orders.Find(form["MerchantTradeNo"]!);
        var perOrder = orders.Behaviour(form["MerchantTradeNo"]!);
        List<KeyValuePair<string, string>> fields;
        if (order is null)
        {
            if (perOrder.UnsignedNotFound ?? behaviour.UnsignedNotFound)
                return Text($"TradeStatus={AioRules.NotFound}&RtnMsg=Cant not find the trade data.");
            fields = Answer(form["MerchantID"]!, form["MerchantTradeNo"]!, "", "0", "", "", "", "", "10200047", "", "", "", "", "");
        }
        else
        {
            lock (order)
            {
                // TradeStatus: 1 paid, 10200095 failed, 0 for everything else — a card pending at the bank included.
                var status = order.State switch { OrderState.Paid => AioRules.Paid, OrderState.Failed => AioRules.NeverChosePaymentMethod, _ => AioRules.Unpaid };
                fields = Answer(order.Field("MerchantID"), order.MerchantTradeNo, order.TradeNo, order.TotalAmount.ToString(CultureInfo.InvariantCulture),
                    order.PaymentDate is { } p && order.State == OrderState.Paid ? TaiwanClock.DateTime(p) : "",
                    order.PaymentType, TaiwanClock.DateTime(order.TradeDate), order.Field("ItemName"), status,
                    order.Field("CustomField1"), order.Field("CustomField2"), order.Field("CustomField3"), order.Field("CustomField4"),
                    order.State == OrderState.Paid ? Math.Round(order.TotalAmount * 0.0275m, 0).ToString(CultureInfo.InvariantCulture) : "0");
            }
        }
        if (perOrder.RawSignedAnswers ?? behaviour.RawSignedAnswers)
        {
            // Signed over the values as they appear in the body (percent-encoded), not over the decoded ones.
            var encoded = fields.Select(f => new KeyValuePair<string, string>(f.Key, EcpayUrlEncoding.Encode(f.Value)));
            return Text(FormBody.WriteUnencoded(cashier.Sign(encoded)));
        }
        return Text(FormBody.Write(cashier.Sign(fields)));

        static List<KeyValuePair<string, string>> Answer(string merchantId, string tradeNo, string ecpayTradeNo, string amount, string paymentDate, string paymentType,
            string tradeDate, string itemName, string status, string c1, string c2, string c3, string c4, string fee) =>
        [
            new("MerchantID", merchantId), new("MerchantTradeNo", tradeNo), new("StoreID", ""), new("TradeNo", ecpayTradeNo),
            new("TradeAmt", amount), new("PaymentDate", paymentDate), new("PaymentType", paymentType), new("HandlingCharge", fee),
            new("PaymentTypeChargeFee", fee), new("TradeDate", tradeDate), new("TradeStatus", status), new("ItemName", itemName),
            new("CustomField1", c1), new("CustomField2", c2), new("CustomField3", c3), new("CustomField4", c4),
        ];
    }

    public static OrderView View(SandboxOrder order)
    {
        lock (order)
        {
            return new OrderView(order.MerchantTradeNo, order.TradeNo, order.State, order.TotalAmount, order.ChoosePayment, order.PaymentType,
                order.RtnCode, order.RtnMsg, order.BankCode, order.VAccount, order.PaymentNo, order.ExpireDate,
                order.Checkout["OrderResultURL"], order.Checkout["ClientBackURL"],
                order.Deliveries.Select(d => new DeliveryView(d.Kind, d.Url, d.Acknowledged, d.GaveUp,
                    d.Attempts.Select(a => new AttemptView(a.At, a.RtnMsg, a.Status, a.Answer, a.Acknowledged)).ToList())).ToList());
        }
    }

    private static bool WantsJson(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        return accept.Contains("application/json", StringComparison.OrdinalIgnoreCase) && !accept.Contains("text/html", StringComparison.OrdinalIgnoreCase);
    }
}
