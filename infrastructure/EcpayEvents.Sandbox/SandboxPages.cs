using System.Globalization;
using System.Net;
using System.Text;

namespace EcpayEvents.Sandbox;

/// <summary>The sandbox's HTML: ECPay-style error page, the checkout page, result pages. Buttons carry ids and data-testid.</summary>
public static class SandboxPages
{
    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Page(string title, string body) => $"""
        <!DOCTYPE html>
        <html lang="zh-Hant"><head><meta charset="utf-8"><title>{H(title)}</title>
        <style>
          body{"{"}font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#222{"}"}
          .banner{"{"}background:#2e7d32;color:#fff;padding:.5rem 1rem;border-radius:6px{"}"}
          .card{"{"}border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0{"}"}
          button{"{"}font:inherit;padding:.5rem 1rem;margin:.25rem .25rem .25rem 0{"}"}
          dt{"{"}font-weight:600;float:left;clear:left;width:10rem{"}"} dd{"{"}margin:0 0 .3rem 10rem{"}"}
        </style></head>
        <body><div class="banner">ECPay sandbox (local, for development and tests — no money moves)</div>
        {body}
        </body></html>
        """;

    public const string Home = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>ECPay sandbox</title></head><body>
        <h1>ECPay sandbox</h1><p>POST /Cashier/AioCheckOut/V5, POST /Cashier/QueryTradeInfo/V5, GET <a href="/sandbox/orders">/sandbox/orders</a>.</p>
        </body></html>
        """;

    /// <summary>Like ECPay's: 訊息代碼 Message code / 訊息說明 Note for message (HTTP 200).</summary>
    public static string Error(CheckoutError error) => Page("交易失敗 Transaction failed", $"""
        <h1>交易失敗 Transaction failed</h1>
        <div class="card" id="ecpay-error" data-testid="ecpay-error" data-error-code="{H(error.Code)}">
          <p>訊息代碼 Message code：<span id="error-code" data-testid="error-code">{H(error.Code)}</span></p>
          <p>訊息說明 Note for message：<span id="error-message" data-testid="error-message">{H(error.Message)}</span></p>
        </div>
        """);

    public static string Checkout(SandboxOrder order)
    {
        var no = H(order.MerchantTradeNo);
        var buttons = new StringBuilder();
        void Button(string action, string id, string label)
        {
            if (order.Allows(action))
                buttons.Append($"""<button type="submit" name="action" value="{action}" id="{id}" data-testid="{id}">{H(label)}</button>""").Append('\n');
        }
        Button("card", "pay-card", "Pay by card (4311-9522-2222-2222)");
        Button("fail", "fail-card", "Card declined");
        Button("atm", "get-atm", "Get an ATM account");
        Button("cvs", "get-cvs", "Get a convenience-store code");
        Button("barcode", "get-barcode", "Get a barcode");
        Button("bnpl", "apply-bnpl", "Apply for BNPL instalments (裕富無卡分期)");
        return Page($"綠界科技 ECPay — {order.MerchantTradeNo}", $"""
            <h1>Checkout</h1>
            <div class="card" id="order" data-merchant-trade-no="{no}">
              <dl>
                <dt>Order</dt><dd data-testid="merchant-trade-no">{no}</dd>
                <dt>Amount</dt><dd data-testid="amount">{order.TotalAmount.ToString(CultureInfo.InvariantCulture)} TWD</dd>
                <dt>Item</dt><dd>{H(order.Field("ItemName"))}</dd>
                <dt>Payment</dt><dd>{H(order.ChoosePayment)}</dd>
              </dl>
            </div>
            <form method="post" action="/sandbox/checkout/{no}">
              {buttons}
              <p><label><input type="checkbox" name="twice" id="send-twice" data-testid="send-twice"> send each notification twice</label></p>
            </form>
            """);
    }

    /// <summary>After an action without OrderResultURL (or for an issued number): what happened, and the way back.</summary>
    public static string Result(SandboxOrder order)
    {
        var no = H(order.MerchantTradeNo);
        var details = order.State switch
        {
            OrderState.NumberIssued when order.PaymentType.StartsWith("ATM", StringComparison.Ordinal) =>
                $"<dt>Bank code</dt><dd data-testid=\"bank-code\">{H(order.BankCode)}</dd><dt>Account</dt><dd data-testid=\"v-account\">{H(order.VAccount)}</dd>",
            OrderState.NumberIssued when order.PaymentNo.Length > 0 =>
                $"<dt>Payment code</dt><dd data-testid=\"payment-no\">{H(order.PaymentNo)}</dd>",
            OrderState.NumberIssued =>
                $"<dt>Barcodes</dt><dd data-testid=\"barcodes\">{H(order.Barcode1)}<br>{H(order.Barcode2)}<br>{H(order.Barcode3)}</dd>",
            _ => "",
        };
        var expire = order.State == OrderState.NumberIssued ? $"<dt>Pay before</dt><dd>{H(order.ExpireDate)}</dd>" : "";
        var payNumber = order.State == OrderState.Applied
            ? $"""
              <form method="post" action="/sandbox/checkout/{no}">
                <button type="submit" name="action" value="paid" id="approve-bnpl" data-testid="approve-bnpl">Approve the application and pay</button>
              </form>
              """
            : order.State == OrderState.NumberIssued
            ? $"""
              <form method="post" action="/sandbox/checkout/{no}">
                <button type="submit" name="action" value="paid" id="pay-number" data-testid="pay-number">Pay this number now</button>
                <button type="submit" name="action" value="paid-late" id="pay-number-late" data-testid="pay-number-late">Pay after its ExpireDate (late)</button>
                <button type="submit" name="action" value="simulate" id="simulate-paid" data-testid="simulate-paid">Simulate payment (back office, SimulatePaid=1)</button>
              </form>
              """
            : "";
        var back = order.Field("ClientBackURL") is { Length: > 0 } url
            ? $"""<p><a id="back-to-shop" data-testid="back-to-shop" href="{H(url)}">返回商店 Back to the shop</a></p>"""
            : "";
        return Page($"ECPay — {order.MerchantTradeNo}", $"""
            <h1 data-testid="result-title">{H(order.Simulated && order.State == OrderState.NumberIssued ? "Simulated payment sent (SimulatePaid=1): no money moved" : order.State == OrderState.NumberIssued ? "Pay later" : order.RtnMsg)}</h1>
            <div class="card"><dl>
              <dt>Order</dt><dd>{no}</dd><dt>State</dt><dd data-testid="state">{H(order.State)}</dd>{details}{expire}
            </dl></div>
            {payNumber}
            {back}
            """);
    }

    /// <summary>The browser's signed post to OrderResultURL, submitted by script as ECPay does.</summary>
    public static string AutoPost(string url, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Returning to the shop…</title></head><body>\n");
        html.Append($"<form id=\"order-result\" method=\"post\" action=\"{H(url)}\">\n");
        foreach (var (k, v) in fields) html.Append($"<input type=\"hidden\" name=\"{H(k)}\" value=\"{H(v)}\">\n");
        html.Append("<noscript><button type=\"submit\">Back to the shop</button></noscript></form>\n");
        html.Append("<script>document.getElementById('order-result').submit();</script></body></html>\n");
        return html.ToString();
    }
}
